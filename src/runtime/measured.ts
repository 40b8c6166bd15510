/**
 * From what the ranks measured to the simulator's Timeline type, so the measured run and the ideal
 * (the simulator fed with the measured per-action costs) compare by subtraction.
 */
import { actionKinds, simulate, stagesPerRank, type CostModel } from '../schedule/index.js';
import type { ActionKind, Schedule, Timeline, TimelineEvent } from '../schedule/types.js';
import type { StepOutcome } from './pipeline.js';

/** The step's actions on one time axis starting at 0 (the first action's start), in seconds. */
export function measuredTimeline(schedule: Schedule, outcome: StepOutcome): Timeline {
  let origin = Infinity;
  for (const actions of outcome.actions) for (const { start } of actions) origin = Math.min(origin, start);
  const events: TimelineEvent[] = [];
  let makespan = 0;
  const busy = outcome.actions.map((actions, rank) => {
    let total = 0;
    for (const { kind, stage, microbatch, start, end } of actions) {
      events.push({ rank, action: { kind, stage, microbatch }, start: start - origin, end: end - origin });
      total += end - start;
      makespan = Math.max(makespan, end - origin);
    }
    return total;
  });
  const share = stagesPerRank(schedule);
  return {
    events,
    makespan,
    busy,
    bubbleFraction: busy.map((time) => (makespan > 0 ? (makespan - time) / makespan : 0)),
    peakActivations: outcome.peakActivations.map((count, rank) => count / share[rank]!),
    peakActivationBytes: outcome.peakActivationBytes,
  };
}

/**
 * Mean measured seconds per (kind, stage) of compute (sends excluded), and per boundary the mean time to
 * hand a message over, over the given steps; kinds a schedule never runs cost 0.
 */
export function measuredCosts(schedule: Schedule, outcomes: readonly StepOutcome[], stashBytesPerStage: readonly number[]): CostModel {
  const { stages } = schedule;
  const total = Object.fromEntries(actionKinds.map((kind) => [kind, new Float64Array(stages)])) as Record<ActionKind, Float64Array>;
  const count = Object.fromEntries(actionKinds.map((kind) => [kind, new Float64Array(stages)])) as Record<ActionKind, Float64Array>;
  const commTotal = new Float64Array(Math.max(stages - 1, 0)); // [boundaries]
  const commCount = new Float64Array(Math.max(stages - 1, 0));
  for (const outcome of outcomes) {
    for (const actions of outcome.actions) {
      for (const { kind, stage, start, end, commSeconds } of actions) {
        total[kind][stage] += end - start - commSeconds;
        count[kind][stage]++;
        // F sends across boundary `stage`; B and I send back across boundary `stage - 1`.
        const boundary = kind === 'F' ? stage : kind === 'W' ? -1 : stage - 1;
        if (boundary >= 0 && boundary < stages - 1) {
          commTotal[boundary] += commSeconds;
          commCount[boundary]++;
        }
      }
    }
  }
  const mean = (sum: number, n: number): number => (n > 0 ? sum / n : 0);
  const duration = Object.fromEntries(
    actionKinds.map((kind) => [kind, Array.from(total[kind], (sum, stage) => mean(sum, count[kind][stage]!))]),
  ) as Record<ActionKind, number[]>;
  return {
    duration,
    commSeconds: Array.from(commTotal, (sum, boundary) => mean(sum, commCount[boundary]!)),
    activationBytes: [...stashBytesPerStage],
  };
}

/** What the simulator predicts for this schedule with the measured costs. */
export function idealTimeline(schedule: Schedule, outcomes: readonly StepOutcome[], stashBytesPerStage: readonly number[]): Timeline {
  return simulate(schedule, measuredCosts(schedule, outcomes, stashBytesPerStage));
}

/** Per rank, seconds spent handing messages over in one step. */
export function commSeconds(outcome: StepOutcome): number[] {
  return outcome.actions.map((actions) => actions.reduce((sum, action) => sum + action.commSeconds, 0));
}
