/**
 * The data flow between actions, the one definition the validator and the simulator share:
 * F(s,m) needs F(s-1,m)'s activation; B or I(s,m) needs F(s,m) and the input gradient of (s+1,m);
 * W(s,m) needs I(s,m). The last stage's backward starts from the loss, which its own F produced.
 */
import { formatAction } from './actions.js';
import { slotOf, type ScheduleIndex } from './structure.js';
import type { Action, Schedule } from './types.js';

export interface Dependency {
  /** Where the producing action runs. */
  readonly rank: number;
  readonly position: number;
  /** The stage boundary the data crosses (b: between stage b and b+1), or -1 within one stage. */
  readonly boundary: number;
}

function at(schedule: Schedule, table: Int32Array, stage: number, microbatch: number, boundary: number): Dependency {
  return { rank: schedule.placement[stage]!, position: table[slotOf(schedule, stage, microbatch)]!, boundary };
}

export function dependenciesOf(schedule: Schedule, index: ScheduleIndex, a: Action): Dependency[] {
  const { stage, microbatch } = a;
  switch (a.kind) {
    case 'F':
      return stage > 0 ? [at(schedule, index.forwardAt, stage - 1, microbatch, stage - 1)] : [];
    case 'B':
    case 'I': {
      const own = at(schedule, index.forwardAt, stage, microbatch, -1);
      if (stage === schedule.stages - 1) return [own];
      return [own, at(schedule, index.inputGradientAt, stage + 1, microbatch, stage)];
    }
    case 'W':
      return [at(schedule, index.inputGradientAt, stage, microbatch, -1)];
  }
}

/** The action on another stage that consumes what `a` produces (activation forward, gradient backward). */
export function consumerOf(schedule: Schedule, index: ScheduleIndex, a: Action): Dependency | undefined {
  if (a.kind === 'F' && a.stage + 1 < schedule.stages) {
    return at(schedule, index.forwardAt, a.stage + 1, a.microbatch, a.stage);
  }
  if ((a.kind === 'B' || a.kind === 'I') && a.stage > 0) {
    return at(schedule, index.inputGradientAt, a.stage - 1, a.microbatch, a.stage - 1);
  }
  return undefined;
}

export function actionAt(schedule: Schedule, rank: number, position: number): string {
  return formatAction(schedule.order[rank]![position]!);
}

/** "activation" for data flowing forward, "gradient" for data flowing back. */
export function payloadOf(a: Action): string {
  return a.kind === 'F' ? 'activation' : 'gradient';
}

/** Every action's inputs and consumer as flat arrays, for loops that visit each action many times. */
export interface DependencyTable {
  /** [actions] every rank's actions, rank after rank. */
  readonly actions: readonly Action[];
  /** [ranks + 1] global index of each rank's first action; action (rank, position) is offsets[rank] + position. */
  readonly offsets: Int32Array;
  /** [actions * 2] global index of up to two producing actions, -1 where there is none. */
  readonly producer: Int32Array;
  /** [actions * 2] the boundary each input crosses (see Dependency), -1 within a stage or rank. */
  readonly crossing: Int32Array;
  /** [actions] the rank that consumes the action's output on another rank, or -1. */
  readonly consumerRank: Int32Array;
  /** [actions] the boundary that output crosses to reach consumerRank, or -1. */
  readonly consumerCrossing: Int32Array;
}

export function compileDependencies(schedule: Schedule, index: ScheduleIndex): DependencyTable {
  const offsets = new Int32Array(schedule.ranks + 1);
  schedule.order.forEach((actions, rank) => (offsets[rank + 1] = offsets[rank]! + actions.length));
  const total = offsets[schedule.ranks]!;
  const producer = new Int32Array(total * 2).fill(-1);
  const crossing = new Int32Array(total * 2).fill(-1);
  const consumerRank = new Int32Array(total).fill(-1);
  const consumerCrossing = new Int32Array(total).fill(-1);
  for (let rank = 0; rank < schedule.ranks; rank++) {
    const actions = schedule.order[rank]!;
    for (let position = 0, global = offsets[rank]!; position < actions.length; position++, global++) {
      const a = actions[position]!;
      const inputs = dependenciesOf(schedule, index, a);
      for (let k = 0; k < inputs.length; k++) {
        const input = inputs[k]!;
        producer[global * 2 + k] = offsets[input.rank]! + input.position;
        if (input.rank !== rank) crossing[global * 2 + k] = input.boundary;
      }
      const consumer = consumerOf(schedule, index, a);
      if (consumer !== undefined && consumer.rank !== rank) {
        consumerRank[global] = consumer.rank;
        consumerCrossing[global] = consumer.boundary;
      }
    }
  }
  return { actions: schedule.order.flat(), offsets, producer, crossing, consumerRank, consumerCrossing };
}
