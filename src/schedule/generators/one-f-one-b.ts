/**
 * 1F1B, i.e. PipeDream-Flush (Narayanan et al. 2021): rank r runs p-r-1 warm-up forwards, then alternates
 * one forward and one backward, then cools down with the remaining backwards. At most p-r activations wait.
 */
import { action } from '../actions.js';
import type { Action, Schedule } from '../types.js';
import { buildSchedule, loopedPlacement } from './build.js';

export function oneForwardOneBackwardSchedule(ranks: number, microbatches: number): Schedule {
  const order: Action[][] = [];
  for (let rank = 0; rank < ranks; rank++) {
    const warmup = Math.min(ranks - rank - 1, microbatches);
    const actions: Action[] = [];
    for (let microbatch = 0; microbatch < warmup; microbatch++) actions.push(action('F', rank, microbatch));
    for (let backward = 0; backward < microbatches; backward++) {
      const forward = backward + warmup;
      if (forward < microbatches) actions.push(action('F', rank, forward));
      actions.push(action('B', rank, backward));
    }
    order.push(actions);
  }
  return buildSchedule('1f1b', ranks, microbatches, loopedPlacement(ranks, ranks), order);
}
