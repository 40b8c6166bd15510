/** The catalogue of built-in schedules and the one entry point that checks their preconditions. */
import { UsageError } from '../errors.js';
import { quote } from '../quote.js';
import { gpipeSchedule } from './generators/gpipe.js';
import { interleavedSchedule } from './generators/interleaved.js';
import { naiveSchedule } from './generators/naive.js';
import { oneForwardOneBackwardSchedule } from './generators/one-f-one-b.js';
import { zeroBubbleH1Schedule } from './generators/zb-h1.js';
import { zeroBubbleVSchedule } from './generators/zb-v.js';
import type { Schedule } from './types.js';

export const scheduleNames = ['naive', 'gpipe', '1f1b', 'interleaved-1f1b', 'zb-h1', 'zb-v'] as const;
export type ScheduleName = (typeof scheduleNames)[number];

/** About half a gigabyte of actions and timeline events; beyond this a request is a mistake, not a plan. */
export const maxActions = 1 << 22;

export interface GenerateOptions {
  /** Pipeline depth p: the number of ranks. */
  readonly ranks: number;
  /** m: micro-batches per training step. */
  readonly microbatches: number;
  /** v: model chunks per rank (interleaved-1f1b: 2 or more, default 2; zb-v: exactly 2; others: 1). */
  readonly chunks?: number;
}

export function isScheduleName(name: string): name is ScheduleName {
  return (scheduleNames as readonly string[]).includes(name);
}

function requirePositiveInteger(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new UsageError(`${what} must be a positive integer (got ${value})`);
  }
}

/** Chunks per rank for `name`, after checking the rule that schedule imposes on them. */
function chunksFor(name: ScheduleName, chunks: number | undefined): number {
  if (chunks !== undefined) requirePositiveInteger('chunks', chunks);
  switch (name) {
    case 'interleaved-1f1b':
      if (chunks !== undefined && chunks < 2) {
        throw new UsageError(`interleaved-1f1b needs 2 or more chunks per rank (got ${chunks}); use 1f1b for one chunk`);
      }
      return chunks ?? 2;
    case 'zb-v':
      if (chunks !== undefined && chunks !== 2) {
        throw new UsageError(`zb-v places exactly 2 chunks per rank (got ${chunks}); use chunks 2`);
      }
      return 2;
    default:
      if (chunks !== undefined && chunks !== 1) {
        throw new UsageError(
          `${name} runs one chunk per rank (got ${chunks}); use interleaved-1f1b or zb-v for several chunks`,
        );
      }
      return 1;
  }
}

export function generateSchedule(name: ScheduleName, options: GenerateOptions): Schedule {
  if (!isScheduleName(name)) {
    throw new UsageError(`unknown schedule ${quote(String(name))}; accepted: ${scheduleNames.join(', ')}`);
  }
  const { ranks, microbatches } = options;
  requirePositiveInteger('ranks', ranks);
  requirePositiveInteger('microbatches', microbatches);
  const chunks = chunksFor(name, options.chunks);
  const actions = ranks * chunks * microbatches * (name === 'zb-h1' || name === 'zb-v' ? 3 : 2);
  if (actions > maxActions) {
    throw new UsageError(
      `${name} with ${ranks} ranks, ${microbatches} micro-batches and ${chunks} chunks per rank has ${actions} actions; at most ${maxActions} fit in memory, so use fewer micro-batches or ranks`,
    );
  }
  switch (name) {
    case 'naive':
      return naiveSchedule(ranks, microbatches);
    case 'gpipe':
      return gpipeSchedule(ranks, microbatches);
    case '1f1b':
      return oneForwardOneBackwardSchedule(ranks, microbatches);
    case 'interleaved-1f1b':
      if (microbatches % ranks !== 0) {
        const lower = microbatches - (microbatches % ranks);
        const higher = lower + ranks;
        const choices = lower > 0 ? `${lower} or ${higher}` : `${higher}`;
        throw new UsageError(
          `interleaved-1f1b needs micro-batches divisible by ranks (got microbatches ${microbatches}, ranks ${ranks}); use a multiple of ${ranks} such as ${choices}`,
        );
      }
      return interleavedSchedule(ranks, microbatches, chunks);
    case 'zb-h1':
      return zeroBubbleH1Schedule(ranks, microbatches);
    case 'zb-v':
      return zeroBubbleVSchedule(ranks, microbatches);
  }
}
