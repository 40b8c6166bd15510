/** The one entry point that checks a request against its catalogue entry's rules and generates the schedule. */
import { UsageError } from '../errors.js';
import { quote } from '../quote.js';
import { catalogueEntry, catalogueNames, isScheduleName, type CatalogueEntry, type ScheduleName } from './catalogue.js';
import type { Schedule } from './types.js';

/** About half a gigabyte of actions and timeline events; beyond this a request is a mistake, not a plan. */
export const maxActions = 1 << 22;

export interface GenerateOptions {
  /** Pipeline depth p: the number of ranks. */
  readonly ranks: number;
  /** m: micro-batches per training step. */
  readonly microbatches: number;
  /** v: model chunks per rank (the catalogue entry's default when absent). */
  readonly chunks?: number;
}

function requirePositiveInteger(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new UsageError(`${what} must be a positive integer (got ${value})`);
  }
}

/** Chunks per rank for `entry`, after checking its rule. */
function chunksFor(entry: CatalogueEntry, chunks: number | undefined): number {
  if (chunks === undefined) return entry.chunks.default;
  requirePositiveInteger('chunks', chunks);
  const { min, max } = entry.chunks;
  if (chunks >= min && chunks <= max) return chunks;
  if (min === max && min === 1) {
    const several = catalogueNames.filter((name) => catalogueEntry(name).chunks.max > 1).join(' or ');
    throw new UsageError(`${entry.name} runs one chunk per rank (got ${chunks}); use ${several} for several chunks`);
  }
  if (min === max) throw new UsageError(`${entry.name} places exactly ${min} chunks per rank (got ${chunks}); use chunks ${min}`);
  throw new UsageError(`${entry.name} needs ${min} or more chunks per rank (got ${chunks}); use 1f1b for one chunk`);
}

function requireMultipleOfRanks(entry: CatalogueEntry, ranks: number, microbatches: number): void {
  if (microbatches % ranks === 0) return;
  const lower = microbatches - (microbatches % ranks);
  const higher = lower + ranks;
  const choices = lower > 0 ? `${lower} or ${higher}` : `${higher}`;
  throw new UsageError(
    `${entry.name} needs micro-batches divisible by ranks (got microbatches ${microbatches}, ranks ${ranks}); use a multiple of ${ranks} such as ${choices}`,
  );
}

export function generateSchedule(name: ScheduleName, options: GenerateOptions): Schedule {
  if (!isScheduleName(name)) {
    throw new UsageError(`unknown schedule ${quote(String(name))}; accepted: ${catalogueNames.join(', ')}`);
  }
  const entry = catalogueEntry(name);
  const { ranks, microbatches } = options;
  requirePositiveInteger('ranks', ranks);
  requirePositiveInteger('microbatches', microbatches);
  const chunks = chunksFor(entry, options.chunks);
  const actions = ranks * chunks * microbatches * (entry.splitBackward ? 3 : 2);
  if (actions > maxActions) {
    throw new UsageError(
      `${name} with ${ranks} ranks, ${microbatches} micro-batches and ${chunks} chunks per rank has ${actions} actions; at most ${maxActions} fit in memory, so use fewer micro-batches or ranks`,
    );
  }
  if (entry.microbatchesMultipleOfRanks) requireMultipleOfRanks(entry, ranks, microbatches);
  const fewest = entry.minMicrobatchesPerRank * ranks;
  if (microbatches < fewest) {
    throw new UsageError(
      `${name} needs at least ${entry.minMicrobatchesPerRank} micro-batches per rank, one per stage (got microbatches ${microbatches}, ranks ${ranks}); use ${fewest} or more`,
    );
  }
  return entry.generate(ranks, microbatches, chunks);
}
