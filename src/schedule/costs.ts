/**
 * The cost model the simulator reads: per-stage durations, per-boundary message times, per-stage stash sizes,
 * and for lowered schedules the tied-gradient exchange and each stage's data-parallel reduction.
 */
import { UsageError } from '../errors.js';
import { actionKinds } from './actions.js';
import type { ActionKind, Schedule } from './types.js';

export interface CostModel {
  /** duration[kind][stage]: seconds one action of that kind takes on that stage; each array is [stages]. */
  readonly duration: Readonly<Record<ActionKind, readonly number[]>>;
  /**
   * [stages - 1] seconds for one message across boundary b (between stage b and b+1): the activation going
   * forward or the gradient coming back. Free when both stages sit on one rank.
   */
  readonly commSeconds: readonly number[];
  /** [stages] bytes one micro-batch's forward stashes on that stage until its B (or its W, with I/W split). */
  readonly activationBytes: readonly number[];
  /** Seconds for the tied embedding's gradient to cross between the owners of the first and last stage (absent: 0). */
  readonly tiedSeconds?: number;
  /** [stages] seconds of each stage's gradient reduction across replicas (absent: free). */
  readonly reduceSeconds?: readonly number[];
}

/** Durations of one rank's whole share of the model; with v chunks on a rank each chunk costs 1/v of these. */
export type RankDurations = Readonly<Record<ActionKind, number>>;

export interface Link {
  readonly latencySeconds: number;
  readonly bytesPerSecond: number;
}

/** Point-to-point time of one message: latency + bytes / bandwidth. */
export function messageSeconds(link: Link, bytes: number): number {
  return link.latencySeconds + bytes / link.bytesPerSecond;
}

/**
 * Ring all-reduce of `bytes` over `replicas` peers: 2(D-1) steps, each one message of bytes/D
 * (Patarasuk & Yuan 2009; what NCCL's ring algorithm does). Free with one replica.
 */
export function allReduceSeconds(link: Link, bytes: number, replicas: number): number {
  return replicas > 1 ? 2 * (replicas - 1) * messageSeconds(link, bytes / replicas) : 0;
}

/** Number of stages on each rank: [ranks]. */
export function stagesPerRank(schedule: Pick<Schedule, 'ranks' | 'placement'>): number[] {
  const counts = new Array<number>(schedule.ranks).fill(0);
  for (const rank of schedule.placement) counts[rank]!++;
  return counts;
}

/**
 * The same cost on every rank. Durations and activation bytes are for a rank's whole share of the model,
 * so a stage on a rank holding v stages costs 1/v of them: interleaving splits work, it does not add it.
 */
export function uniformCosts(
  schedule: Schedule,
  perRank: RankDurations,
  options: {
    readonly commSeconds?: number;
    readonly activationBytes?: number;
    readonly tiedSeconds?: number;
    /** A rank's whole gradient reduction; a chunk reduces 1/v of it. */
    readonly reduceSeconds?: number;
  } = {},
): CostModel {
  const share = stagesPerRank(schedule);
  const perStage = (value: number): number[] => schedule.placement.map((rank) => value / share[rank]!);
  const duration = Object.fromEntries(actionKinds.map((kind) => [kind, perStage(perRank[kind])])) as Record<
    ActionKind,
    number[]
  >;
  return {
    duration,
    commSeconds: new Array<number>(Math.max(schedule.stages - 1, 0)).fill(options.commSeconds ?? 0),
    activationBytes: perStage(options.activationBytes ?? 0),
    tiedSeconds: options.tiedSeconds ?? 0,
    reduceSeconds: perStage(options.reduceSeconds ?? 0),
  };
}

function checkSeconds(what: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new UsageError(`cost model ${what} must be a finite number ≥ 0 (got ${String(value)})`);
  }
}

function checkArray(what: string, values: readonly number[] | undefined, length: number): void {
  if (!Array.isArray(values) || values.length !== length) {
    throw new UsageError(`cost model ${what} must list ${length} numbers (got ${values?.length ?? 'none'})`);
  }
  values.forEach((value, i) => checkSeconds(`${what}[${i}]`, value));
}

export function checkCostModel(schedule: Schedule, costs: CostModel): void {
  for (const kind of actionKinds) checkArray(`duration.${kind}`, costs.duration?.[kind], schedule.stages);
  checkArray('commSeconds', costs.commSeconds, Math.max(schedule.stages - 1, 0));
  checkArray('activationBytes', costs.activationBytes, schedule.stages);
  if (costs.reduceSeconds !== undefined) checkArray('reduceSeconds', costs.reduceSeconds, schedule.stages);
  if (costs.tiedSeconds !== undefined) checkSeconds('tiedSeconds', costs.tiedSeconds);
}
