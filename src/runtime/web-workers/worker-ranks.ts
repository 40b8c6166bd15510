/**
 * The driver's links to ranks that are a browser's Web Workers, wired to each other by a full mesh of
 * MessageChannels.
 * Starting a worker is the caller's: a bundler has to see `new Worker(new URL(...))` in the page's own code.
 */
import type { DriverMessage } from '../protocol.js';
import { portMesh } from '../mesh.js';
import type { RankLinkEvents, RankLinks } from '../transport.js';
import type { ClosablePort, RankWorkerPost, RankWorkerStart, WorkerHandle } from './ports.js';

/** The browser's MessageChannel, as much of it as the mesh needs. */
export type ChannelFactory = () => { readonly port1: ClosablePort; readonly port2: ClosablePort };

export class WebWorkerRanks implements RankLinks {
  readonly kind = 'web-workers';
  readonly hosts: readonly string[];
  private readonly workers: WorkerHandle[];
  private events: RankLinkEvents | undefined;
  private closing = false;

  constructor(
    readonly size: number,
    startWorker: (rank: number) => WorkerHandle,
    channel: ChannelFactory,
  ) {
    this.hosts = new Array<string>(size).fill('browser');
    const peers = portMesh(size, channel);
    this.workers = Array.from({ length: size }, (_, rank) => {
      const worker = startWorker(rank);
      worker.addEventListener('message', (event) => this.received(rank, event.data as RankWorkerPost));
      worker.addEventListener('error', (event) => this.lost(rank, `worker failed: ${event.message ?? 'the browser gave no reason'}`));
      worker.addEventListener('messageerror', () => this.lost(rank, 'a message from the worker could not be read'));
      const start: RankWorkerStart = { rank, peers: peers[rank]! };
      // Ports are transferred, not cloned: each end lives in exactly one worker.
      worker.postMessage(start, peers[rank]!.filter((port) => port !== undefined));
      return worker;
    });
  }

  private received(rank: number, post: RankWorkerPost): void {
    if ('exited' in post) this.lost(rank, `worker ended itself with code ${post.exited}`);
    else this.events?.reply(rank, post.reply);
  }

  private lost(rank: number, reason: string): void {
    if (!this.closing) this.events?.lost(rank, reason);
  }

  listen(events: RankLinkEvents): void {
    this.events = events;
  }

  send(rank: number, message: DriverMessage): void {
    this.workers[rank]!.postMessage(message);
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const worker of this.workers) worker.terminate();
  }
}
