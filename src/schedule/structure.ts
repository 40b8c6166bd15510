/**
 * The shape checks every consumer of a schedule needs before it can trust indices: sizes, placement,
 * every action on its stage's rank, and every (stage, micro-batch) done exactly once (its forward, and its
 * backward unless the schedule runs forward only). Returns where each
 * action sits so the validator and the simulator look dependencies up in O(1).
 */
import { UsageError } from '../errors.js';
import { formatAction } from './actions.js';
import type { Action, Schedule } from './types.js';

export interface ScheduleIndex {
  /** [stages * microbatches] position on its rank of F(stage, microbatch); slot = stage * microbatches + microbatch. */
  readonly forwardAt: Int32Array;
  /** [stages * microbatches] position of the action that produces the input gradient: B or I. */
  readonly inputGradientAt: Int32Array;
  /** [stages * microbatches] position of the action that produces the weight gradient: B or W. */
  readonly weightGradientAt: Int32Array;
}

export function slotOf(schedule: Schedule, stage: number, microbatch: number): number {
  return stage * schedule.microbatches + microbatch;
}

function requireCount(what: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new UsageError(`schedule ${what} must be a positive integer (got ${String(value)})`);
  }
}

function checkSizes(schedule: Schedule): void {
  requireCount('ranks', schedule.ranks);
  requireCount('stages', schedule.stages);
  requireCount('microbatches', schedule.microbatches);
  if (!Array.isArray(schedule.placement) || schedule.placement.length !== schedule.stages) {
    throw new UsageError(`schedule placement must list a rank for each of its ${schedule.stages} stages`);
  }
  schedule.placement.forEach((rank, stage) => {
    if (!Number.isInteger(rank) || rank < 0 || rank >= schedule.ranks) {
      throw new UsageError(`stage ${stage} is placed on rank ${rank}, but ranks run 0..${schedule.ranks - 1}`);
    }
  });
  if (!Array.isArray(schedule.order) || schedule.order.length !== schedule.ranks) {
    throw new UsageError(`schedule order must hold one action list for each of its ${schedule.ranks} ranks`);
  }
  // Checked before the per-slot tables are allocated, so absurd sizes cannot exhaust memory.
  const actions = schedule.order.reduce((total, list) => total + (Array.isArray(list) ? list.length : 0), 0);
  const slots = schedule.stages * schedule.microbatches;
  if (slots > actions) {
    throw new UsageError(
      `schedule has ${actions} actions, too few for ${schedule.stages} stages × ${schedule.microbatches} micro-batches: each needs an F and a B (or an I and a W)`,
    );
  }
}

function checkAction(schedule: Schedule, rank: number, a: Action): void {
  const { stages, microbatches } = schedule;
  const shown = `${a.stage}${a.kind}${a.microbatch}`;
  if (a.kind !== 'F' && a.kind !== 'B' && a.kind !== 'I' && a.kind !== 'W') {
    throw new UsageError(`rank ${rank} has an action of kind '${String(a.kind)}'; kinds are F, B, I, W`);
  }
  if (!Number.isInteger(a.stage) || a.stage < 0 || a.stage >= stages) {
    throw new UsageError(`rank ${rank} runs ${shown}, but stages run 0..${stages - 1}`);
  }
  if (!Number.isInteger(a.microbatch) || a.microbatch < 0 || a.microbatch >= microbatches) {
    throw new UsageError(`rank ${rank} runs ${shown}, but micro-batches run 0..${microbatches - 1}`);
  }
  const owner = schedule.placement[a.stage]!;
  if (owner !== rank) {
    throw new UsageError(`rank ${rank} runs ${shown}, but stage ${a.stage} is placed on rank ${owner}`);
  }
}

/** Records `position` in `table`, refusing a second action for the same slot. */
function claim(table: Int32Array, slot: number, position: number, rank: number, a: Action, role: string): void {
  if (table[slot]! >= 0) {
    throw new UsageError(
      `rank ${rank}: ${formatAction(a)} computes the ${role} of stage ${a.stage} micro-batch ${a.microbatch} a second time; each is computed once (B, or I then W)`,
    );
  }
  table[slot] = position;
}

/** A schedule with no backward at all runs forward only (evaluation); any backward makes it a training step. */
export function isForwardOnly(schedule: Schedule): boolean {
  return schedule.order.every((actions) => actions.every((a) => a.kind === 'F'));
}

function checkComplete(schedule: Schedule, index: ScheduleIndex): void {
  const forwardOnly = isForwardOnly(schedule);
  for (let stage = 0; stage < schedule.stages; stage++) {
    const rank = schedule.placement[stage]!;
    for (let microbatch = 0; microbatch < schedule.microbatches; microbatch++) {
      const slot = slotOf(schedule, stage, microbatch);
      const name = (kind: string): string => `${stage}${kind}${microbatch}`;
      if (index.forwardAt[slot]! < 0) {
        throw new UsageError(`rank ${rank} never runs ${name('F')}: every (stage, micro-batch) needs one forward`);
      }
      if (forwardOnly) continue;
      if (index.inputGradientAt[slot]! < 0) {
        throw new UsageError(
          `rank ${rank} never runs the backward of stage ${stage} micro-batch ${microbatch}: add ${name('B')}, or ${name('I')} and ${name('W')}`,
        );
      }
      if (index.weightGradientAt[slot]! < 0) {
        throw new UsageError(`rank ${rank} runs ${name('I')} but never ${name('W')}: an I needs its W`);
      }
    }
  }
}

/** Overlapped pairs name an F followed at once by a B or I of another stage on the same rank, each action in one pair at most. */
function checkOverlaps(schedule: Schedule): void {
  const { overlaps } = schedule;
  if (overlaps === undefined) return;
  if (!Array.isArray(overlaps) || overlaps.length !== schedule.ranks) {
    throw new UsageError(`schedule overlaps must hold one list of pair positions for each of its ${schedule.ranks} ranks`);
  }
  overlaps.forEach((positions, rank) => {
    const actions = schedule.order[rank]!;
    let previous = -2;
    for (const position of positions) {
      const first = actions[position];
      const second = actions[position + 1];
      if (!Number.isInteger(position) || position < previous + 2 || first === undefined || second === undefined) {
        throw new UsageError(`rank ${rank}: overlapped pair at position ${position} must start after the previous pair and before the last action`);
      }
      if (first.kind !== 'F' || (second.kind !== 'B' && second.kind !== 'I') || first.stage === second.stage) {
        throw new UsageError(
          `rank ${rank}: ${formatAction(first)} and ${formatAction(second)} cannot run as an overlapped pair: it is a forward followed by a backward (B or I) of another stage`,
        );
      }
      previous = position;
    }
  });
}

export function indexSchedule(schedule: Schedule): ScheduleIndex {
  checkSizes(schedule);
  const slots = schedule.stages * schedule.microbatches;
  const index: ScheduleIndex = {
    forwardAt: new Int32Array(slots).fill(-1),
    inputGradientAt: new Int32Array(slots).fill(-1),
    weightGradientAt: new Int32Array(slots).fill(-1),
  };
  schedule.order.forEach((actions, rank) => {
    if (!Array.isArray(actions)) throw new UsageError(`rank ${rank}'s order must be a list of actions`);
    actions.forEach((a, position) => {
      checkAction(schedule, rank, a);
      const slot = slotOf(schedule, a.stage, a.microbatch);
      if (a.kind === 'F') claim(index.forwardAt, slot, position, rank, a, 'forward');
      if (a.kind === 'B' || a.kind === 'I') claim(index.inputGradientAt, slot, position, rank, a, 'input gradient');
      if (a.kind === 'B' || a.kind === 'W') claim(index.weightGradientAt, slot, position, rank, a, 'weight gradient');
    });
  });
  checkComplete(schedule, index);
  checkOverlaps(schedule);
  return index;
}
