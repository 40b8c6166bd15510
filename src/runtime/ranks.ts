import { availableParallelism } from 'node:os';
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import { UsageError } from '../errors.js';

/**
 * The worker threads of one run, one per rank, wired to each other by a full mesh of MessagePorts
 * (neighbouring stages talk, and so do the first and last stage for the tied embedding).
 * Any rank's failure terminates every rank and rejects whatever the coordinator is waiting for.
 */
export interface RankFailure {
  readonly rank: number;
  /** Where the rank was, in words: "step 2, stage 1, B micro-batch 3". */
  readonly where: string;
  readonly message: string;
}

export class RankFailedError extends Error {
  override readonly name = 'RankFailedError';
  constructor(readonly failure: RankFailure) {
    super(`rank ${failure.rank} failed at ${failure.where}: ${failure.message}`);
  }
}

/**
 * What each rank is doing, in a shared array so it survives the rank's death and can be read while it blocks:
 * [step, stage, action kind code (0 none, 1 F, 2 B, 3 I, 4 W; negative while waiting for the action's input),
 *  microbatch, actions finished so far].
 */
export const progressFields = 5;
const kindNames = ['', 'F', 'B', 'I', 'W'] as const;

export function describeProgress(progress: Int32Array, rank: number): string {
  const [step, stage, kind, microbatch] = progress.subarray(rank * progressFields, (rank + 1) * progressFields);
  if (!kind) return step! > 0 ? `step ${step}, between actions` : 'start-up';
  const action = `${kindNames[Math.abs(kind!)]} micro-batch ${microbatch}`;
  return kind! < 0 ? `step ${step}, stage ${stage}, waiting for the input of ${action}` : `step ${step}, stage ${stage}, ${action}`;
}

/** A number from the environment variable `name`, or undefined when it is unset; anything `accept` refuses is a usage error. */
function environmentNumber(name: string, expected: string, accept: (value: number) => boolean): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || !accept(value)) throw new UsageError(`${name} must be ${expected}, got '${raw}'`);
  return value;
}

/** Seconds without any rank finishing an action, while the coordinator waits, before the run is declared stuck. */
function stallSeconds(): number {
  return environmentNumber('CONVEYOR_STALL_SECONDS', 'a number of seconds above 0', (value) => value > 0) ?? 120;
}

/**
 * Milliseconds a rank busy-polls its peers' ports for an awaited message before it sleeps. An idle vCPU is
 * descheduled by the hypervisor and comes back slower, so with a core per rank polling pays (measured in
 * docs/benchmarks.md); with more ranks than cores a polling rank would take a core from a computing one.
 */
export function pollMilliseconds(ranks: number): number {
  const override = environmentNumber('CONVEYOR_POLL_MS', 'a number of milliseconds, 0 or more', (value) => value >= 0);
  return override ?? (ranks <= availableParallelism() ? 50 : 0);
}

/** Reads CONVEYOR_STALL_SECONDS and CONVEYOR_POLL_MS now, so a bad value is refused before any work starts. */
export function checkRankEnvironment(ranks: number): void {
  stallSeconds();
  pollMilliseconds(ranks);
}

export interface RankMessage {
  readonly type: string;
}

interface Waiter {
  resolve(message: RankMessage): void;
  reject(error: Error): void;
}

export class RankPool {
  private readonly workers: Worker[];
  private readonly inboxes: RankMessage[][];
  private readonly waiters: (Waiter | undefined)[];
  private failure: RankFailedError | undefined;
  private closing = false;
  private watchdog: NodeJS.Timeout | undefined;
  private lastFinished = -1;
  private lastProgressAt = 0;
  private readonly stallLimitMs: number;
  readonly progress: Int32Array;

  /** Starts `ranks` workers running `entry`; each gets `setup(rank)` plus its peers' ports and the progress array. */
  constructor(entry: URL, ranks: number, setup: (rank: number) => object) {
    // read before any worker starts, so a bad value stops the run at once
    this.stallLimitMs = stallSeconds() * 1000;
    this.progress = new Int32Array(new SharedArrayBuffer(ranks * progressFields * Int32Array.BYTES_PER_ELEMENT));
    const peers: (MessagePort | undefined)[][] = Array.from({ length: ranks }, () => new Array(ranks).fill(undefined));
    for (let a = 0; a < ranks; a++) {
      for (let b = a + 1; b < ranks; b++) {
        const { port1, port2 } = new MessageChannel();
        peers[a]![b] = port1;
        peers[b]![a] = port2;
      }
    }
    this.inboxes = Array.from({ length: ranks }, () => []);
    this.waiters = new Array(ranks).fill(undefined);
    this.workers = Array.from({ length: ranks }, (_, rank) => {
      const ports = peers[rank]!.filter((port): port is MessagePort => port !== undefined);
      const worker = new Worker(entry, {
        workerData: { ...setup(rank), rank, ranks, peers: peers[rank], progress: this.progress.buffer },
        transferList: ports,
      });
      worker.on('message', (message: RankMessage & Partial<RankFailure>) => {
        if (message.type === 'failed') {
          this.fail({ rank, where: message.where ?? describeProgress(this.progress, rank), message: message.message ?? 'unknown error' });
          return;
        }
        const waiter = this.waiters[rank];
        if (waiter) {
          this.waiters[rank] = undefined;
          waiter.resolve(message);
        } else this.inboxes[rank]!.push(message);
      });
      worker.on('error', (error) => this.fail({ rank, where: describeProgress(this.progress, rank), message: error.message }));
      worker.on('exit', (code) => {
        if (!this.closing) this.fail({ rank, where: describeProgress(this.progress, rank), message: `worker exited with code ${code}` });
      });
      return worker;
    });
  }

  get size(): number {
    return this.workers.length;
  }

  send(rank: number, message: RankMessage, transfer: ArrayBuffer[] = []): void {
    if (this.failure) throw this.failure;
    this.workers[rank]!.postMessage(message, transfer);
  }

  /** The next message from `rank`; rejects as soon as any rank fails. */
  receive<T extends RankMessage>(rank: number): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const queued = this.inboxes[rank]!.shift();
    if (queued) return Promise.resolve(queued as T);
    this.watch();
    return new Promise<T>((resolve, reject) => {
      this.waiters[rank] = { resolve: (message) => resolve(message as T), reject };
    });
  }

  /** One message from every rank, in rank order. */
  receiveAll<T extends RankMessage>(): Promise<T[]> {
    return Promise.all(this.workers.map((_, rank) => this.receive<T>(rank)));
  }

  /** While the coordinator waits for a rank, some rank must keep finishing actions; otherwise the run is stuck. */
  private watch(): void {
    if (this.watchdog) return;
    const limit = this.stallLimitMs;
    this.lastProgressAt = Date.now();
    this.watchdog = setInterval(() => {
      const waitingFor = this.waiters.findIndex((waiter) => waiter !== undefined);
      if (waitingFor < 0) {
        clearInterval(this.watchdog);
        this.watchdog = undefined;
        return;
      }
      let finished = 0;
      for (let rank = 0; rank < this.workers.length; rank++) finished += Atomics.load(this.progress, rank * progressFields + 4);
      if (finished !== this.lastFinished) {
        this.lastFinished = finished;
        this.lastProgressAt = Date.now();
      } else if (Date.now() - this.lastProgressAt >= limit) {
        const where = this.workers.map((_, rank) => `rank ${rank}: ${describeProgress(this.progress, rank)}`).join('; ');
        this.fail({ rank: waitingFor, where: describeProgress(this.progress, waitingFor), message: `no rank finished an action for ${limit / 1000} s (${where})` });
      }
    }, Math.min(1000, limit / 4));
    this.watchdog.unref();
  }

  private fail(failure: RankFailure): void {
    if (this.failure || this.closing) return;
    this.failure = new RankFailedError(failure);
    void this.close();
    for (const waiter of this.waiters.splice(0)) waiter?.reject(this.failure);
  }

  /** Stops every worker; safe to call more than once. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.watchdog);
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
