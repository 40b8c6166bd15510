/**
 * The driver's side of the ranks, whatever carries the messages: replies are awaited per rank and checked
 * for their type, progress reports feed the watchdog, and any rank's failure stops every rank and rejects
 * whatever the driver waits for.
 */
import { RunFailedError } from '../errors.js';
import type { RankReply } from './protocol.js';
import type { RankLinks } from './transport.js';
import { Watchdog } from './watchdog.js';

export interface RankFailure {
  readonly rank: number;
  /** Set when ranks run on hosts of their own (processes): where the failed rank ran. */
  readonly host?: string;
  /** Where the rank was, in words: "step 2, stage 1, B micro-batch 3". */
  readonly where: string;
  readonly message: string;
}

export class RankFailedError extends RunFailedError {
  override readonly name = 'RankFailedError';
  constructor(readonly failure: RankFailure) {
    super(`rank ${failure.rank}${failure.host === undefined ? '' : ` on ${failure.host}`} failed at ${failure.where}: ${failure.message}`);
  }
}

type Reply<T extends RankReply['type']> = Extract<RankReply, { type: T }>;

interface Waiter {
  readonly type: RankReply['type'];
  resolve(message: RankReply): void;
  reject(error: Error): void;
}

export interface RankPoolOptions {
  /** CONVEYOR_STALL_SECONDS: a fixed stall limit instead of one derived from the measured actions. */
  readonly stallSeconds?: number;
  /** Name the failed rank's host in the message (ranks on processes). */
  readonly nameHosts?: boolean;
}

export class RankPool {
  private readonly inboxes: RankReply[][];
  private readonly waiters: (Waiter | undefined)[];
  private failure: RankFailedError | undefined;
  private closing: Promise<void> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  readonly watchdog: Watchdog;

  constructor(
    readonly links: RankLinks,
    private readonly options: RankPoolOptions = {},
  ) {
    this.inboxes = Array.from({ length: links.size }, () => []);
    this.waiters = new Array(links.size).fill(undefined);
    this.watchdog = new Watchdog(links.size, Date.now(), options.stallSeconds);
    links.listen({
      reply: (rank, message) => this.reply(rank, message),
      lost: (rank, reason) => this.fail({ rank, where: this.where(rank), message: reason }),
    });
  }

  get size(): number {
    return this.links.size;
  }

  private where(rank: number): string {
    return this.watchdog.describe(rank);
  }

  private reply(rank: number, message: RankReply): void {
    const now = Date.now();
    switch (message.type) {
      case 'progress':
        this.watchdog.heard(rank, now, message.progress);
        return;
      case 'failed':
        this.fail({ rank, where: message.where, message: message.message });
        return;
      case 'peerLost':
        this.fail({ rank: message.peer, where: this.where(message.peer), message: message.reason });
        return;
    }
    this.watchdog.heard(rank, now);
    const waiter = this.waiters[rank];
    if (waiter === undefined) {
      this.inboxes[rank]!.push(message);
      return;
    }
    this.waiters[rank] = undefined;
    if (message.type === waiter.type) waiter.resolve(message);
    else waiter.reject(this.fail({ rank, where: this.where(rank), message: `replied '${message.type}' where '${waiter.type}' was due` }));
  }

  send(rank: number, message: Parameters<RankLinks['send']>[1]): void {
    if (this.failure) throw this.failure;
    this.links.send(rank, message);
  }

  /** The next reply from `rank`, which must be of `type`; rejects as soon as any rank fails. */
  receive<T extends RankReply['type']>(rank: number, type: T): Promise<Reply<T>> {
    if (this.failure) return Promise.reject(this.failure);
    const queued = this.inboxes[rank]!.shift();
    if (queued !== undefined) {
      if (queued.type === type) return Promise.resolve(queued as Reply<T>);
      const error = this.fail({ rank, where: this.where(rank), message: `replied '${queued.type}' where '${type}' was due` });
      return Promise.reject(error);
    }
    this.watch();
    return new Promise<Reply<T>>((resolve, reject) => {
      this.waiters[rank] = { type, resolve: (message) => resolve(message as Reply<T>), reject };
    });
  }

  /** One reply of `type` from every rank, in rank order. */
  receiveAll<T extends RankReply['type']>(type: T): Promise<Reply<T>[]> {
    return Promise.all(Array.from({ length: this.size }, (_, rank) => this.receive(rank, type)));
  }

  /** While the driver waits for a rank, some rank must keep finishing actions; otherwise the run is stuck. */
  private watch(): void {
    if (this.timer) return;
    this.watchdog.reset(Date.now());
    this.timer = setInterval(() => {
      if (!this.waiters.some((waiter) => waiter !== undefined)) {
        clearInterval(this.timer);
        this.timer = undefined;
        return;
      }
      const stall = this.watchdog.check(Date.now());
      if (stall) this.fail(stall);
    }, 250);
    // On Node the watch must not keep the process alive; a browser's timer is a number with nothing to unref.
    (this.timer as { unref?(): void }).unref?.();
  }

  private fail(failure: RankFailure): RankFailedError {
    if (this.failure || this.closing) return this.failure ?? new RankFailedError(failure);
    const host = this.options.nameHosts ? this.links.hosts[failure.rank] : undefined;
    this.failure = new RankFailedError({ ...failure, ...(host === undefined ? {} : { host }) });
    void this.close(failure.rank);
    for (const waiter of this.waiters.splice(0, this.size, ...new Array(this.size).fill(undefined))) waiter?.reject(this.failure);
    return this.failure;
  }

  /** Stops every rank (telling them which rank failed, if one did); safe to call more than once. */
  close(failedRank?: number): Promise<void> {
    clearInterval(this.timer);
    this.closing ??= this.links.close(failedRank);
    return this.closing;
  }
}
