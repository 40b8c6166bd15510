/**
 * ZB-H1 (Qi et al. 2024, "Zero Bubble Pipeline Parallelism", section 2.1): 1F1B with each backward split
 * into I (gradient to the input, on the critical path) and W (gradient to the weights, deferrable).
 * Rank r runs W of micro-batch j-r right after I of micro-batch j, so every rank holds up to p activations,
 * the same peak as 1F1B's first rank; the deferred W passes fill the cool-down bubble.
 */
import { action } from '../actions.js';
import type { Action, Schedule } from '../types.js';
import { buildSchedule, loopedPlacement } from './build.js';

export function zeroBubbleH1Schedule(ranks: number, microbatches: number): Schedule {
  const order: Action[][] = [];
  for (let rank = 0; rank < ranks; rank++) {
    const warmup = Math.min(ranks - rank - 1, microbatches);
    const actions: Action[] = [];
    let weights = 0; // W passes emitted so far, in micro-batch order
    for (let microbatch = 0; microbatch < warmup; microbatch++) actions.push(action('F', rank, microbatch));
    for (let backward = 0; backward < microbatches; backward++) {
      const forward = backward + warmup;
      if (forward < microbatches) actions.push(action('F', rank, forward));
      actions.push(action('I', rank, backward));
      if (backward - weights >= rank) actions.push(action('W', rank, weights++));
    }
    while (weights < microbatches) actions.push(action('W', rank, weights++));
    order.push(actions);
  }
  return buildSchedule('zb-h1', ranks, microbatches, loopedPlacement(ranks, ranks), order);
}
