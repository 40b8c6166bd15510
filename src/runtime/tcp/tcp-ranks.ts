/**
 * The driver's links when ranks are processes: it runs in global rank 0's process, talks to rank 0 through
 * the in-process link and to every other rank over the connection the two ranks' processes share.
 */
import type { DriverMessage, LinkLimits } from '../protocol.js';
import { Rank } from '../rank.js';
import type { RankLinkEvents, RankLinks } from '../transport.js';
import { decodeRankReply } from '../wire.js';
import { LocalLink } from './local-link.js';
import type { Mesh } from './rendezvous.js';
import { TcpTransport } from './tcp-transport.js';

export class TcpRanks implements RankLinks {
  readonly kind = 'tcp';
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly mesh: Mesh,
    private readonly local: LocalLink,
  ) {}

  /** On global rank 0: the driver's links, with rank 0's own rank loop started beside it in this process. */
  static withLocalRank(mesh: Mesh): TcpRanks {
    const local = new LocalLink();
    new Rank(new TcpTransport(mesh, local), 0);
    return new TcpRanks(mesh, local);
  }

  get size(): number {
    return this.mesh.size;
  }

  get hosts(): readonly string[] {
    return this.mesh.hosts;
  }

  listen(events: RankLinkEvents): void {
    this.local.toDriver = (message) => events.reply(0, message);
    this.mesh.links.forEach((link, rank) => {
      link?.on({
        control: (json, attachments) => events.reply(rank, decodeRankReply(json, attachments)),
        closed: (reason) => {
          if (this.closing === undefined) events.lost(rank, `its connection to rank 0 ${reason === 'closed' ? 'closed' : `failed (${reason})`}: the process exited or was killed`);
        },
      });
    });
  }

  send(rank: number, message: DriverMessage): void {
    if (rank === 0) this.local.sendToRank(message);
    else this.mesh.links[rank]!.connection.sendMessage(message);
  }

  expect(limits: LinkLimits): void {
    this.mesh.expect(limits);
  }

  close(failedRank?: number): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      const stop: DriverMessage = failedRank === undefined ? { type: 'stop' } : { type: 'stop', failedRank };
      for (let rank = 0; rank < this.size; rank++) this.send(rank, stop);
      // the stop messages are written; closing lets them drain before the sockets end
      queueMicrotask(() => {
        this.mesh.close();
        resolve();
      });
    });
    return this.closing;
  }
}
