/**
 * Which rank stopped making progress. Ranks report where they stand as they go (and every second as a
 * heartbeat); while the driver waits for them, some rank must finish an action within the stall limit. When
 * none does, the one to blame is a rank stuck inside an action (the others wait for it); failing that, a
 * rank that went silent; failing that, the rank that has waited longest.
 */
import { describeProgress, startUp, type Progress } from './protocol.js';

/** Before any action was measured (start-up, compilation, the first step), a stall is called after this long. */
export const startUpStallSeconds = 30;
/** Never call a stall sooner than this: a loaded host pauses a process for a second or two. */
export const minimumStallSeconds = 5;
/** The limit is this many times the slowest action measured so far. */
export const stallActionFactor = 10;

/** A heartbeat this many intervals late means the rank is silent (frozen, or its host is). */
const silentHeartbeats = 3;
const heartbeatSeconds = 1;

interface RankState {
  progress: Progress;
  /** Driver milliseconds: when this rank was last heard from, and when it last started or finished an action. */
  heardAt: number;
  changedAt: number;
}

export interface Stall {
  readonly rank: number;
  readonly where: string;
  readonly message: string;
}

export class Watchdog {
  private readonly ranks: RankState[];
  private lastFinished = 0;
  private lastProgressAt: number;
  private slowestActionS: number | undefined;

  constructor(
    size: number,
    now: number,
    /** CONVEYOR_STALL_SECONDS: a fixed limit instead of the derived one. */
    private readonly fixedSeconds?: number,
  ) {
    this.ranks = Array.from({ length: size }, () => ({ progress: startUp, heardAt: now, changedAt: now }));
    this.lastProgressAt = now;
  }

  /** Seconds without any finished action before the run is declared stuck. */
  limitSeconds(): number {
    if (this.fixedSeconds !== undefined) return this.fixedSeconds;
    if (this.slowestActionS === undefined) return startUpStallSeconds;
    return Math.max(minimumStallSeconds, stallActionFactor * this.slowestActionS);
  }

  /** After a step: the slowest action it measured (the limit follows the run's own pace). */
  measured(slowestActionS: number): void {
    this.slowestActionS = slowestActionS;
  }

  /** Where `rank` stood when last heard from, in words. */
  describe(rank: number): string {
    return describeProgress(this.ranks[rank]!.progress);
  }

  /** Any message from `rank`; a progress report also moves its state. */
  heard(rank: number, now: number, progress?: Progress): void {
    const state = this.ranks[rank]!;
    state.heardAt = now;
    if (progress === undefined) return;
    const previous = state.progress;
    if (progress.finished !== previous.finished || progress.waiting !== previous.waiting || progress.action?.kind !== previous.action?.kind ||
      progress.action?.stage !== previous.action?.stage || progress.action?.microbatch !== previous.action?.microbatch) {
      state.changedAt = now;
    }
    state.progress = progress;
  }

  /** The wait begins: whatever happened before it does not count against the ranks. */
  reset(now: number): void {
    this.lastProgressAt = now;
    this.lastFinished = this.finished();
  }

  private finished(): number {
    return this.ranks.reduce((sum, state) => sum + state.progress.finished, 0);
  }

  /** The rank to blame when no rank finished an action for the limit, else undefined. */
  check(now: number): Stall | undefined {
    const finished = this.finished();
    if (finished !== this.lastFinished) {
      this.lastFinished = finished;
      this.lastProgressAt = now;
      return undefined;
    }
    const limit = this.limitSeconds();
    if (now - this.lastProgressAt < limit * 1000) return undefined;
    const ranks = this.ranks.map((state, rank) => ({ ...state, rank }));
    const oldest = (candidates: typeof ranks, key: 'heardAt' | 'changedAt') =>
      candidates.length === 0 ? undefined : candidates.reduce((a, b) => (b[key] < a[key] ? b : a));
    const culprit =
      oldest(ranks.filter((state) => state.progress.action !== undefined && !state.progress.waiting), 'changedAt') ??
      oldest(ranks.filter((state) => now - state.heardAt > silentHeartbeats * heartbeatSeconds * 1000), 'heardAt') ??
      oldest(ranks, 'changedAt')!;
    const others = ranks.filter((state) => state.rank !== culprit.rank).map((state) => `rank ${state.rank}: ${describeProgress(state.progress)}`);
    const silent = now - culprit.heardAt > silentHeartbeats * heartbeatSeconds * 1000 ? `, not heard from for ${((now - culprit.heardAt) / 1000).toFixed(0)} s` : '';
    return {
      rank: culprit.rank,
      where: describeProgress(culprit.progress),
      message: `stopped making progress${silent}: no rank finished an action for ${Number(limit.toFixed(1))} s` + (others.length > 0 ? ` (${others.join('; ')})` : ''),
    };
  }
}
