/**
 * The one catalogue of built-in schedules: what each is called, where it comes from, how it places stages,
 * how many chunks a rank holds, what it requires of the sizes and whether it splits the backward. The
 * generators, the CLI, the planner and the web page read these entries rather than re-encoding the rules.
 */
import { dualPipeVSchedule } from './generators/dualpipe-v.js';
import { gpipeSchedule } from './generators/gpipe.js';
import { interleavedSchedule } from './generators/interleaved.js';
import { naiveSchedule } from './generators/naive.js';
import { oneForwardOneBackwardSchedule } from './generators/one-f-one-b.js';
import { zeroBubbleH1Schedule } from './generators/zb-h1.js';
import { zeroBubbleH2Schedule } from './generators/zb-h2.js';
import { zeroBubbleVSchedule } from './generators/zb-v.js';
import type { Schedule } from './types.js';

export interface CatalogueEntry {
  readonly name: string;
  /** One line: what the schedule does. */
  readonly summary: string;
  /** The paper or code it follows. */
  readonly source: string;
  /** looped: stage s on rank s mod p; v: rank r holds stages r and 2p-1-r. */
  readonly placement: 'looped' | 'v';
  /** Chunks (stages) per rank: the default and the accepted range. */
  readonly chunks: { readonly default: number; readonly min: number; readonly max: number };
  /** Micro-batches must be a multiple of the ranks. */
  readonly microbatchesMultipleOfRanks: boolean;
  /** Micro-batches must be at least this many per rank (0: any count). */
  readonly minMicrobatchesPerRank: number;
  /** The backward runs as I then W (zero-bubble families) rather than one B. */
  readonly splitBackward: boolean;
  /** PyTorch pipelining's class for this schedule, without its 'Schedule' prefix, where it has one. */
  readonly torchClass?: string;
  /** Builds the schedule; the sizes have passed the rules above. */
  readonly generate: (ranks: number, microbatches: number, chunks: number) => Schedule;
}

const oneChunk = { default: 1, min: 1, max: 1 } as const;
const twoChunks = { default: 2, min: 2, max: 2 } as const;

export const scheduleCatalogue = [
  {
    name: 'naive',
    summary: 'one micro-batch forward through every stage and back before the next: one rank busy at a time',
    source: 'plain model parallelism',
    placement: 'looped',
    chunks: oneChunk,
    microbatchesMultipleOfRanks: false,
    minMicrobatchesPerRank: 0,
    splitBackward: false,
    generate: (ranks, microbatches) => naiveSchedule(ranks, microbatches),
  },
  {
    name: 'gpipe',
    summary: 'all forwards, then all backwards in micro-batch order',
    source: 'Huang et al. 2019, GPipe; PyTorch ScheduleGPipe',
    placement: 'looped',
    chunks: oneChunk,
    microbatchesMultipleOfRanks: false,
    minMicrobatchesPerRank: 0,
    splitBackward: false,
    torchClass: 'GPipe',
    generate: (ranks, microbatches) => gpipeSchedule(ranks, microbatches),
  },
  {
    name: '1f1b',
    summary: 'PipeDream-Flush: p-r-1 warm-up forwards, then one forward one backward, then the remaining backwards',
    source: 'Narayanan et al. 2021; PyTorch Schedule1F1B',
    placement: 'looped',
    chunks: oneChunk,
    microbatchesMultipleOfRanks: false,
    minMicrobatchesPerRank: 0,
    splitBackward: false,
    torchClass: '1F1B',
    generate: (ranks, microbatches) => oneForwardOneBackwardSchedule(ranks, microbatches),
  },
  {
    name: 'interleaved-1f1b',
    summary: "Megatron's virtual pipeline: v chunks per rank, forwards in groups of p micro-batches per chunk",
    source: 'Narayanan et al. 2021; Megatron-LM forward_backward_pipelining_with_interleaving; PyTorch ScheduleInterleaved1F1B',
    placement: 'looped',
    chunks: { default: 2, min: 2, max: Number.MAX_SAFE_INTEGER },
    microbatchesMultipleOfRanks: true,
    minMicrobatchesPerRank: 0,
    splitBackward: false,
    torchClass: 'Interleaved1F1B',
    generate: (ranks, microbatches, chunks) => interleavedSchedule(ranks, microbatches, chunks),
  },
  {
    name: 'zb-h1',
    summary: '1F1B with the backward split; W passes deferred to fill the cool-down, memory of 1F1B',
    source: 'Qi et al. 2024, Zero Bubble Pipeline Parallelism, section 2.1',
    placement: 'looped',
    chunks: oneChunk,
    microbatchesMultipleOfRanks: false,
    minMicrobatchesPerRank: 0,
    splitBackward: true,
    generate: (ranks, microbatches) => zeroBubbleH1Schedule(ranks, microbatches),
  },
  {
    name: 'zb-h2',
    summary: 'zero bubble with twice the memory: extra warm-up forwards, W passes deferred by 2(p-1) micro-batches',
    source: 'Qi et al. 2024, Zero Bubble Pipeline Parallelism, section 2.2',
    placement: 'looped',
    chunks: oneChunk,
    microbatchesMultipleOfRanks: false,
    minMicrobatchesPerRank: 0,
    splitBackward: true,
    generate: (ranks, microbatches) => zeroBubbleH2Schedule(ranks, microbatches),
  },
  {
    name: 'zb-v',
    summary: 'V placement, backward split, F I W on both chunks in the steady state',
    source: 'Qi et al. 2024, Zero Bubble Pipeline Parallelism, section 6; PyTorch ScheduleZBVZeroBubble',
    placement: 'v',
    chunks: twoChunks,
    microbatchesMultipleOfRanks: false,
    minMicrobatchesPerRank: 0,
    splitBackward: true,
    torchClass: 'ZBVZeroBubble',
    generate: (ranks, microbatches) => zeroBubbleVSchedule(ranks, microbatches),
  },
  {
    name: 'dualpipe-v',
    summary: 'V placement; the steady state pairs a forward of one chunk with a backward of the other (DualPipe cut in half)',
    source: 'DeepSeek-AI 2024, DeepSeek-V3 Technical Report (DualPipe); Sea AI Lab cut-in-half; PyTorch ScheduleDualPipeV',
    placement: 'v',
    chunks: twoChunks,
    microbatchesMultipleOfRanks: false,
    minMicrobatchesPerRank: 2,
    splitBackward: true,
    torchClass: 'DualPipeV',
    generate: (ranks, microbatches) => dualPipeVSchedule(ranks, microbatches),
  },
] as const satisfies readonly CatalogueEntry[];

export type ScheduleName = (typeof scheduleCatalogue)[number]['name'];

/** Every catalogue name, in catalogue order. */
export const catalogueNames: readonly ScheduleName[] = scheduleCatalogue.map((entry) => entry.name);

/**
 * The six schedules the planner enumerates today (planner/search.ts re-encodes their chunk rules); it moves
 * to scheduleCatalogue, which everything else reads.
 */
export const scheduleNames = ['naive', 'gpipe', '1f1b', 'interleaved-1f1b', 'zb-h1', 'zb-v'] as const satisfies readonly ScheduleName[];

export function isScheduleName(name: string): name is ScheduleName {
  return (catalogueNames as readonly string[]).includes(name);
}

export function catalogueEntry(name: ScheduleName): CatalogueEntry {
  return scheduleCatalogue.find((entry) => entry.name === name)!;
}
