/**
 * The driver's links to ranks that are worker threads of this process, wired to each other by a full mesh
 * of MessagePorts (neighbouring stages talk, and so do the first and last stage for the tied embedding).
 */
import { availableParallelism, hostname } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { DriverMessage, RankReply } from '../protocol.js';
import { portMesh } from '../mesh.js';
import type { RankLinkEvents, RankLinks } from '../transport.js';

/**
 * Milliseconds a rank busy-polls its peers for an awaited message before it sleeps. An idle vCPU is
 * descheduled by the hypervisor and comes back slower, so with a core per rank polling pays (measured in
 * docs/benchmarks.md); with more ranks than cores a polling rank would take a core from a computing one.
 * The longest wait inside a step is the pipeline's fill or drain: at most one micro-batch's forward and
 * backward through every stage (`fillSeconds`), so a rank polls for twice that, between 50 ms and 1 s.
 */
export function pollMilliseconds(ranksOnThisHost: number, fillSeconds: number): number {
  if (ranksOnThisHost > availableParallelism()) return 0;
  return Math.min(1000, Math.max(50, 2000 * fillSeconds));
}

export class ThreadRanks implements RankLinks {
  readonly kind = 'threads';
  readonly hosts: readonly string[];
  private readonly workers: Worker[];
  private events: RankLinkEvents | undefined;
  private closing = false;

  constructor(readonly size: number) {
    this.hosts = new Array<string>(size).fill(hostname());
    const peers = portMesh<MessagePort>(size, () => new MessageChannel());
    this.workers = Array.from({ length: size }, (_, rank) => {
      const ports = peers[rank]!.filter((port): port is MessagePort => port !== undefined);
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { rank, peers: peers[rank] }, transferList: ports });
      worker.on('message', (message: RankReply) => this.events?.reply(rank, message));
      worker.on('error', (error) => this.lost(rank, error.message));
      worker.on('exit', (code) => this.lost(rank, `worker exited with code ${code}`));
      return worker;
    });
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
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
