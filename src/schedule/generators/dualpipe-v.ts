/**
 * DualPipeV: DeepSeek's DualPipe (DeepSeek-V3 Technical Report, 2024) cut in half into a V (Sea AI Lab's
 * "cut-in-half"), as PyTorch's ScheduleDualPipeV lays it out. Rank r holds stage r (chunk 0) and stage
 * 2p-1-r (chunk 1). Warm-up: 2(p-r-1) forwards on chunk 0, r+1 pairs of forwards on both chunks, p-r-1
 * rounds of I, W, F on chunk 1. The main phase pairs a forward of one chunk with a full backward of the
 * other, (F0, B1) then (F1, B0), the pairs DualPipe overlaps (one's compute under the other's
 * communication): Schedule.overlaps marks them, so a pair waits for both inputs and sends after both. Then p-r-1 rounds of B1 and (F1, B0),
 * r+1 rounds of backwards on both chunks that switch to I (W deferred) half-way, p-r-1 rounds of W and a
 * chunk-0 backward, and the remaining Ws. Needs at least 2p micro-batches (one per stage), as PyTorch does.
 */
import { action } from '../actions.js';
import type { Action, Schedule } from '../types.js';
import { buildSchedule, vPlacement } from './build.js';

function rankOrder(ranks: number, rank: number, microbatches: number): { actions: Action[]; pairs: number[] } {
  const stageOf = [rank, 2 * ranks - 1 - rank]; // [chunk]
  const forwards = [0, 0]; // [chunk] micro-batch of the next forward
  const backwards = [0, 0]; // [chunk] micro-batch of the next backward (B or I)
  const weights: Action[] = []; // Ws owed by earlier Is, oldest first
  const actions: Action[] = [];
  const pairs: number[] = []; // positions of overlapped (F, B) pairs
  const forward = (chunk: 0 | 1): void => {
    actions.push(action('F', stageOf[chunk]!, forwards[chunk]!++));
  };
  const backward = (chunk: 0 | 1, split: boolean): void => {
    const microbatch = backwards[chunk]!++;
    actions.push(action(split ? 'I' : 'B', stageOf[chunk]!, microbatch));
    if (split) weights.push(action('W', stageOf[chunk]!, microbatch));
  };
  const owedWeight = (): void => {
    const next = weights.shift();
    if (next !== undefined) actions.push(next);
  };
  const overlapped = (forwardChunk: 0 | 1, backwardChunk: 0 | 1): void => {
    pairs.push(actions.length);
    forward(forwardChunk);
    backward(backwardChunk, false);
  };
  const repeat = (times: number, step: () => void): void => {
    for (let i = 0; i < times; i++) step();
  };
  const later = ranks - rank - 1; // ranks after this one

  repeat(2 * later, () => forward(0));
  repeat(rank + 1, () => (forward(0), forward(1)));
  repeat(later, () => (backward(1, true), owedWeight(), forward(1)));
  for (let i = 0; i < microbatches - 2 * ranks + rank + 1; i++) {
    // The last rank's first F0 and B1 run apart: B1 can start as soon as its own F1 is done.
    if (i === 0 && rank === ranks - 1) (forward(0), backward(1, false));
    else overlapped(0, 1);
    overlapped(1, 0);
  }
  repeat(later, () => (backward(1, false), overlapped(1, 0)));
  // Half-way through the last backwards the weight passes split off to fill the cool-down; odd and even
  // ranks switch one action apart, so neighbours do not wait on each other's W.
  let split = false;
  const half = Math.floor((rank + 1) / 2);
  for (let i = 0; i <= rank; i++) {
    if (i === half && rank % 2 === 1) split = true;
    backward(1, split);
    if (i === half && rank % 2 === 0) split = true;
    backward(0, split);
  }
  repeat(later, () => (owedWeight(), backward(0, split)));
  repeat(rank + 1, owedWeight);
  return { actions, pairs };
}

export function dualPipeVSchedule(ranks: number, microbatches: number): Schedule {
  const ranksOrders = Array.from({ length: ranks }, (_, rank) => rankOrder(ranks, rank, microbatches));
  const order = ranksOrders.map((rank) => rank.actions);
  return buildSchedule('dualpipe-v', ranks, microbatches, vPlacement(ranks), order, ranksOrders.map((rank) => rank.pairs));
}
