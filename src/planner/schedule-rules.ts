import { UsageError } from '../errors.js';
import { quote } from '../quote.js';
import { catalogueEntry, catalogueNames, isScheduleName, type CatalogueEntry, type ScheduleName } from '../schedule/index.js';

/** The schedule the planner never picks by itself: one rank busy at a time, kept as the sequential reference. */
export const SEQUENTIAL_REFERENCE = 'naive';

/** A schedule name of the catalogue; a UsageError lists the accepted names. */
export function scheduleName(name: string): ScheduleName {
  if (!isScheduleName(name)) throw new UsageError(`unknown schedule ${quote(name)}; accepted: ${catalogueNames.join(', ')}`);
  return name;
}

/** The catalogue entry for a schedule name; a UsageError lists the accepted names. */
export const scheduleEntry = (name: string): CatalogueEntry => catalogueEntry(scheduleName(name));

export interface ScheduleSizes {
  readonly pp: number;
  readonly microbatches: number;
  readonly chunks: number;
  readonly layers: number;
  /** The plan gives its own layers per rank, which may count the embedding and output layer as a chunk's work. */
  readonly explicitSplit: boolean;
}

/** A rule the sizes break: what must hold, and the sizes that did not satisfy it. */
export interface ScheduleProblem {
  readonly rule: string;
  readonly value: string;
}

/**
 * What keeps a schedule from running these sizes, read from its catalogue entry (chunks per rank, micro-batches a
 * multiple of the ranks, a least number per rank, equal chunks for a V placement), or undefined when nothing does.
 */
export function scheduleProblem(entry: CatalogueEntry, sizes: ScheduleSizes): ScheduleProblem | undefined {
  const { pp, microbatches, chunks, layers } = sizes;
  const { min, max } = entry.chunks;
  if (chunks < min || chunks > max) {
    if (min === max && min === 1) return { rule: `${entry.name} runs one chunk per rank; set virtualStages to 1 or use interleaved-1f1b`, value: `virtualStages ${chunks}` };
    if (min === max) return { rule: `${entry.name} places exactly ${min} chunks per rank; set virtualStages to ${min}`, value: `virtualStages ${chunks}` };
    return { rule: `${entry.name} needs virtualStages ≥ ${min}; use 1f1b for one chunk per rank`, value: `virtualStages ${chunks}` };
  }
  if (entry.microbatchesMultipleOfRanks && microbatches % pp !== 0) {
    return { rule: `${entry.name} needs the micro-batch count to be a multiple of pp`, value: `${microbatches} micro-batches on pp ${pp}` };
  }
  if (microbatches < entry.minMicrobatchesPerRank * pp) {
    return { rule: `${entry.name} needs at least ${entry.minMicrobatchesPerRank} micro-batches per pipeline rank`, value: `${microbatches} on pp ${pp}` };
  }
  if (sizes.explicitSplit || chunks === 1) return undefined;
  if (entry.placement === 'v' && layers % (pp * chunks) !== 0) {
    return { rule: `${entry.name} needs the ${layers} layers to split into pp × ${chunks} equal chunks`, value: `pp ${pp}` };
  }
  if (pp * chunks > layers) {
    return { rule: `pp × virtualStages chunks must not exceed the ${layers} layers; use fewer virtual stages`, value: `${pp} × ${chunks}` };
  }
  return undefined;
}

/**
 * Chunk counts the search tries for a schedule on p ranks: its one count, or for a range (interleaving) every v
 * from its least for which the layers split into p·v equal chunks (the planner's choice: Megatron's interleaving
 * needs equal chunks).
 */
export function chunkChoices(entry: CatalogueEntry, pp: number, layers: number): number[] {
  const { min, max } = entry.chunks;
  if (min === max) return [min];
  const choices: number[] = [];
  for (let chunks = min; chunks <= max && pp * chunks <= layers; chunks++) if (layers % (pp * chunks) === 0) choices.push(chunks);
  return choices;
}
