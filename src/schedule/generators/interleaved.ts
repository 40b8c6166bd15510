/**
 * Interleaved 1F1B (Narayanan et al. 2021, Megatron's virtual pipeline): rank r holds v chunks, stages
 * r, r+p, ..., r+(v-1)p. Forwards walk chunk 0 for p micro-batches, then chunk 1 for the same p, ...;
 * backwards walk the chunks in reverse. Rank r warms up with 2(p-r-1) + (v-1)p forwards, then runs 1F1B.
 */
import { action } from '../actions.js';
import type { Action, Schedule } from '../types.js';
import { buildSchedule, loopedPlacement } from './build.js';

export function interleavedSchedule(ranks: number, microbatches: number, chunks: number): Schedule {
  const perRank = microbatches * chunks;
  const group = ranks * chunks;
  // The k-th forward (or backward) a rank runs, as (chunk, micro-batch).
  const chunkOf = (k: number, forward: boolean): number => {
    const chunk = Math.floor((k % group) / ranks);
    return forward ? chunk : chunks - 1 - chunk;
  };
  const microbatchOf = (k: number): number => Math.floor(k / group) * ranks + (k % ranks);

  const order: Action[][] = [];
  for (let rank = 0; rank < ranks; rank++) {
    const stageOf = (chunk: number): number => chunk * ranks + rank;
    const warmup = Math.min(2 * (ranks - rank - 1) + (chunks - 1) * ranks, perRank);
    const actions: Action[] = [];
    for (let k = 0; k < warmup; k++) actions.push(action('F', stageOf(chunkOf(k, true)), microbatchOf(k)));
    for (let k = 0; k < perRank; k++) {
      const forward = k + warmup;
      if (forward < perRank) actions.push(action('F', stageOf(chunkOf(forward, true)), microbatchOf(forward)));
      actions.push(action('B', stageOf(chunkOf(k, false)), microbatchOf(k)));
    }
    order.push(actions);
  }
  return buildSchedule('interleaved-1f1b', ranks, microbatches, loopedPlacement(ranks, ranks * chunks), order);
}
