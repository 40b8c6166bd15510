/** Plain model parallelism: one micro-batch runs forward through every stage and back before the next starts. */
import { action } from '../actions.js';
import type { Action, Schedule } from '../types.js';
import { buildSchedule, loopedPlacement } from './build.js';

export function naiveSchedule(ranks: number, microbatches: number): Schedule {
  const order: Action[][] = [];
  for (let rank = 0; rank < ranks; rank++) {
    const actions: Action[] = [];
    for (let microbatch = 0; microbatch < microbatches; microbatch++) {
      actions.push(action('F', rank, microbatch), action('B', rank, microbatch));
    }
    order.push(actions);
  }
  return buildSchedule('naive', ranks, microbatches, loopedPlacement(ranks, ranks), order);
}
