/**
 * The data flow between compute actions, the one definition the validator and the lowering pass rest on:
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

export function actionAt(schedule: Schedule, rank: number, position: number): string {
  return formatAction(schedule.order[rank]![position]!);
}
