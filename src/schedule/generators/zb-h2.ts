/**
 * ZB-H2 (Qi et al. 2024, "Zero Bubble Pipeline Parallelism", section 2.2): the zero-bubble schedule that
 * spends memory. Rank r runs 2(p-1-r) extra warm-up forwards to fill the bubble before the first backward,
 * and every rank defers its W passes by 2(p-1) micro-batches, so the cool-down is filled with them too and
 * the pipeline becomes a parallelogram. In the steady state rank r runs F(x), I(x - 2(p-1-r)),
 * W(x - 2(p-1)): every rank holds up to 2p-1 activations, about twice 1F1B's p.
 * One loop over x emits the warm-up, steady and cool-down phases alike: an index outside 0..m-1 is skipped.
 */
import { action } from '../actions.js';
import type { Action, Schedule } from '../types.js';
import { buildSchedule, loopedPlacement } from './build.js';

export function zeroBubbleH2Schedule(ranks: number, microbatches: number): Schedule {
  const order: Action[][] = [];
  for (let rank = 0; rank < ranks; rank++) {
    const inputLag = 2 * (ranks - 1 - rank);
    const weightLag = 2 * (ranks - 1);
    const actions: Action[] = [];
    const inRange = (microbatch: number): boolean => microbatch >= 0 && microbatch < microbatches;
    for (let x = 0; x < microbatches + weightLag; x++) {
      if (inRange(x)) actions.push(action('F', rank, x));
      if (inRange(x - inputLag)) actions.push(action('I', rank, x - inputLag));
      if (inRange(x - weightLag)) actions.push(action('W', rank, x - weightLag));
    }
    order.push(actions);
  }
  return buildSchedule('zb-h2', ranks, microbatches, loopedPlacement(ranks, ranks), order);
}
