/**
 * The TCP transport: a rank in a process of its own, linked to every other rank by one proven connection
 * (rendezvous.ts). Tensors go out as frames written straight from their own bytes and arrive in one buffer
 * each; the driver is global rank 0's process, reached over the connection to rank 0 (or, on rank 0 itself,
 * through an in-process link).
 */
import { frameArray, tensorHeader, type Frame } from '../frames.js';
import type { LinkLimits, PeerMessage, RankReply } from '../protocol.js';
import type { Transport, TransportEvents } from '../transport.js';
import { decodeDriverMessage } from '../wire.js';
import type { LocalLink } from './local-link.js';
import type { Mesh } from './rendezvous.js';

/** How the rank ended: stopped by the driver (failedRank set when the job failed there), or cut off from it (`lost`). */
export interface RankEnd {
  readonly failedRank?: number;
  readonly lost?: string;
}

export class TcpTransport implements Transport {
  readonly kind = 'tcp';
  private events: TransportEvents | undefined;
  private closed = false;
  private finish!: (end: RankEnd) => void;
  /** Resolves when the rank is done: stopped by the driver, or cut off from it. */
  readonly ended = new Promise<RankEnd>((resolve) => (this.finish = resolve));

  constructor(
    private readonly mesh: Mesh,
    /** Rank 0's in-process link to the driver; undefined on every other rank (the driver is behind the connection to rank 0). */
    private readonly local?: LocalLink,
  ) {}

  listen(events: TransportEvents): void {
    this.events = events;
    this.mesh.links.forEach((link, peer) => {
      if (link === undefined) return;
      const driver = this.local === undefined && peer === 0;
      link.on({
        tensor: (frame) => events.message(peer, this.peerMessage(frame)),
        ...(driver
          ? {
              control: (json, attachments) => {
                const message = decodeDriverMessage(json, attachments);
                if (message.type === 'stop') this.finish(message.failedRank === undefined ? {} : { failedRank: message.failedRank });
                events.control(message);
              },
            }
          : {}),
        closed: (reason) => {
          if (this.closed) return;
          if (driver) {
            this.finish({ lost: `lost the connection to rank 0, which drives the job (${link.connection.remote}): ${reason}` });
            events.lost(undefined, reason);
          } else events.lost(peer, `its connection to rank ${this.mesh.rank} ${reason === 'closed' ? 'closed' : `failed (${reason})`}: the process exited or was killed`);
        },
      });
    });
    if (this.local) this.local.toRank = (message) => events.control(message);
  }

  private peerMessage(frame: Frame): PeerMessage {
    const { header } = frame;
    const data = frameArray(frame);
    return { payload: header.payload!, stage: header.stage, microbatch: header.microbatch, shape: header.shape, data: data instanceof Float32Array ? data : new Float32Array(0) };
  }

  expect(limits: LinkLimits): void {
    this.mesh.expect(limits);
  }

  send(peer: number, message: PeerMessage): void | Promise<void> {
    const connection = this.mesh.links[peer]!.connection;
    const header = tensorHeader('tensor', message.data, { payload: message.payload, stage: message.stage, microbatch: message.microbatch, shape: message.shape });
    if (!connection.sendTensor(header, message.data)) return connection.drained();
  }

  reply(message: RankReply): void {
    if (this.local) this.local.sendToDriver(message);
    else this.mesh.links[0]!.connection.sendMessage(message);
  }

  /** Spins the event loop (socket reads included) without sleeping, so the core stays awake while a message is due. */
  async poll(ready: () => boolean, milliseconds: number): Promise<void> {
    const deadline = performance.now() + milliseconds;
    while (!ready() && !this.closed && performance.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  }

  drop(peer: number, reason: string): void {
    this.mesh.links[peer]?.connection.drop(reason);
    this.events?.lost(peer, reason);
  }

  exit(code: number): void {
    process.exit(code);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // rank 0's mesh is the driver's too: it closes it when the job is over
    if (this.local === undefined) this.mesh.close();
    this.finish({});
  }
}
