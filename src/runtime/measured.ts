/**
 * From what the ranks measured to the simulator's Timeline type, so the measured run and the ideal
 * (the simulator fed with the measured per-action costs) compare by subtraction. The bookkeeping (busy time,
 * bubble, stash peaks) is schedule/'s own timelineFromEvents, the simulator's.
 */
import { actionKinds, isCompute, simulate, timelineFromEvents, type CostModel } from '../schedule/index.js';
import type { ActionKind, LoweredSchedule, Schedule, Timeline } from '../schedule/types.js';
import type { StepOutcome } from './pipeline.js';

/** The step's lowered actions of one pipeline (replica 0's ranks) on one time axis starting at 0. */
export function measuredTimeline(schedule: Schedule, outcome: StepOutcome, activationBytes: readonly number[]): Timeline {
  const events = outcome.actions.flatMap((actions, rank) => actions.map(({ start, end, ...action }) => ({ rank, action, start, end })));
  return timelineFromEvents(schedule, events, activationBytes);
}

/**
 * Over the given steps, mean measured seconds per (kind, stage) of compute, per boundary of handing a message
 * to the transport, of the tied exchange's send, and per stage of its reduction across replicas; what a
 * schedule never runs costs 0.
 */
export function measuredCosts(schedule: LoweredSchedule, outcomes: readonly StepOutcome[], stashBytesPerStage: readonly number[]): CostModel {
  const { stages } = schedule;
  const sums = (length: number) => ({ total: new Float64Array(length), count: new Float64Array(length) });
  const compute = Object.fromEntries(actionKinds.map((kind) => [kind, sums(stages)])) as Record<ActionKind, ReturnType<typeof sums>>;
  const comm = sums(Math.max(stages - 1, 0)); // [boundaries]
  const reduce = sums(stages);
  const tied = sums(1);
  const add = (into: ReturnType<typeof sums>, at: number, seconds: number) => {
    into.total[at]! += seconds;
    into.count[at]!++;
  };
  for (const outcome of outcomes) {
    for (const actions of outcome.actions) {
      for (const action of actions) {
        const seconds = action.end - action.start;
        if (isCompute(action)) add(compute[action.kind], action.stage, seconds);
        // SEND_F crosses boundary `stage`, SEND_B boundary `stage - 1`
        else if (action.kind === 'SEND_F') add(comm, action.stage, seconds);
        else if (action.kind === 'SEND_B') add(comm, action.stage - 1, seconds);
        else if (action.kind === 'SEND_TIED') add(tied, 0, seconds);
        else if (action.kind === 'REDUCE_GRAD') add(reduce, action.stage, seconds);
      }
    }
  }
  const means = ({ total, count }: ReturnType<typeof sums>) => Array.from(total, (sum, i) => (count[i]! > 0 ? sum / count[i]! : 0));
  return {
    duration: Object.fromEntries(actionKinds.map((kind) => [kind, means(compute[kind])])) as Record<ActionKind, number[]>,
    commSeconds: means(comm),
    activationBytes: [...stashBytesPerStage],
    tiedSeconds: means(tied)[0]!,
    reduceSeconds: means(reduce),
  };
}

/** What the simulator predicts for this lowered schedule with the measured costs. */
export function idealTimeline(schedule: LoweredSchedule, outcomes: readonly StepOutcome[], stashBytesPerStage: readonly number[]): Timeline {
  return simulate(schedule, measuredCosts(schedule, outcomes, stashBytesPerStage));
}

/** Per rank, seconds spent handing messages to the transport in one step. */
export function commSeconds(outcome: StepOutcome): number[] {
  return outcome.actions.map((actions) =>
    actions.reduce((sum, action) => sum + (action.kind === 'SEND_F' || action.kind === 'SEND_B' || action.kind === 'SEND_TIED' ? action.end - action.start : 0), 0),
  );
}
