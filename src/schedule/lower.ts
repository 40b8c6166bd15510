/**
 * Lowering: a compute schedule becomes the lists the runtime executes, with every transfer explicit
 * (PyTorch pipelining's `_add_send_recv` does the same for its runtime). Each rank's list is its compute
 * order with
 * - RECV_F / RECV_B right before the compute that consumes the message: a receive blocks, so placed there it
 *   waits only when the compute would have waited anyway, and the lowered lists make progress exactly when the
 *   compute schedule does (PyTorch posts receives early instead, because its receives do not block);
 * - SEND_F / SEND_B right after the compute that produced the message (sends never block);
 * - after a stage's last weight gradient (its last B or W): REDUCE_GRAD when there are replicas, then
 *   SEND_TIED when the first and last stages share the embedding on two ranks;
 * - RECV_TIED at the very end, so waiting for the other end never holds up this rank's own work;
 * - an overlapped pair (Schedule.overlaps) runs as one: both receives before it, both sends after it.
 * No message crosses between two stages on one rank: they hand data over in memory.
 */
import { UsageError } from '../errors.js';
import { commAction } from './actions.js';
import { indexSchedule, isForwardOnly, slotOf, type ScheduleIndex } from './structure.js';
import type { Action, LoweredAction, LoweredSchedule, Schedule } from './types.js';

export interface LoweringOptions {
  /** Data-parallel replicas of the pipeline (1: no gradient reduction). */
  readonly replicas: number;
  /** Whether the first and last stages share the embedding matrix. */
  readonly tiedEmbedding: boolean;
}

/** [stages] position on its rank of each stage's last weight-gradient action (B or W); -1 when it has none. */
export function lastWeightGradientAt(schedule: Schedule, index: ScheduleIndex): Int32Array {
  const last = new Int32Array(schedule.stages).fill(-1);
  for (let stage = 0; stage < schedule.stages; stage++) {
    for (let microbatch = 0; microbatch < schedule.microbatches; microbatch++) {
      last[stage] = Math.max(last[stage]!, index.weightGradientAt[slotOf(schedule, stage, microbatch)]!);
    }
  }
  return last;
}

/** Whether the owners of the first and last stages exchange the tied embedding's gradient. */
export function exchangesTiedGradient(schedule: Schedule, tiedEmbedding: boolean): boolean {
  const { placement, stages } = schedule;
  return tiedEmbedding && placement[0] !== placement[stages - 1] && !isForwardOnly(schedule);
}

export function lowerSchedule(schedule: Schedule, options: LoweringOptions): LoweredSchedule {
  return lowerIndexed(schedule, indexSchedule(schedule), options);
}

/** lowerSchedule for a schedule already indexed (and so checked for shape). */
export function lowerIndexed(schedule: Schedule, index: ScheduleIndex, options: LoweringOptions): LoweredSchedule {
  const { replicas, tiedEmbedding } = options;
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new UsageError(`replicas must be a positive integer (got ${replicas})`);
  }
  const { placement, stages } = schedule;
  const lastStage = stages - 1;
  const lastWeight = lastWeightGradientAt(schedule, index);
  const tied = exchangesTiedGradient(schedule, tiedEmbedding);
  const crosses = (from: number, to: number): boolean => placement[from] !== placement[to];

  const order = schedule.order.map((actions, rank) => {
    const lowered: LoweredAction[] = [];
    const receive = (a: Action): void => {
      const { kind, stage, microbatch } = a;
      if (kind === 'F' && stage > 0 && crosses(stage - 1, stage)) lowered.push(commAction('RECV_F', stage, microbatch));
      if ((kind === 'B' || kind === 'I') && stage < lastStage && crosses(stage + 1, stage)) lowered.push(commAction('RECV_B', stage, microbatch));
    };
    const send = (a: Action): void => {
      const { kind, stage, microbatch } = a;
      if (kind === 'F' && stage < lastStage && crosses(stage + 1, stage)) lowered.push(commAction('SEND_F', stage, microbatch));
      if ((kind === 'B' || kind === 'I') && stage > 0 && crosses(stage - 1, stage)) lowered.push(commAction('SEND_B', stage, microbatch));
    };
    const finishStage = (a: Action, position: number): void => {
      if (position !== lastWeight[a.stage]) return;
      if (replicas > 1) lowered.push(commAction('REDUCE_GRAD', a.stage));
      if (tied && (a.stage === 0 || a.stage === lastStage)) lowered.push(commAction('SEND_TIED', a.stage));
    };
    const pairs = new Set(schedule.overlaps?.[rank] ?? []);
    for (let position = 0; position < actions.length; position++) {
      // An overlapped pair runs as one: both inputs first, both outputs after.
      const last = pairs.has(position) ? position + 1 : position;
      for (let at = position; at <= last; at++) receive(actions[at]!);
      for (let at = position; at <= last; at++) lowered.push(actions[at]!);
      for (let at = position; at <= last; at++) send(actions[at]!);
      for (let at = position; at <= last; at++) finishStage(actions[at]!, at);
      position = last;
    }
    if (tied) {
      for (const end of [0, lastStage]) if (placement[end] === rank) lowered.push(commAction('RECV_TIED', end));
    }
    return lowered;
  });
  const { name, ranks, microbatches } = schedule;
  return { name, ranks, stages, microbatches, placement, replicas, tiedEmbedding, order };
}
