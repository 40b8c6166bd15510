/**
 * GPipe (Huang et al. 2019): every rank runs all forwards (fill), then all backwards (drain).
 * Backwards run in micro-batch order (as PyTorch's ScheduleGPipe does), so weight gradients accumulate in
 * the same order as under every other schedule and training is bitwise the same whatever the schedule.
 */
import { action } from '../actions.js';
import type { Action, Schedule } from '../types.js';
import { buildSchedule, loopedPlacement } from './build.js';

export function gpipeSchedule(ranks: number, microbatches: number): Schedule {
  const order: Action[][] = [];
  for (let rank = 0; rank < ranks; rank++) {
    const actions: Action[] = [];
    for (let microbatch = 0; microbatch < microbatches; microbatch++) actions.push(action('F', rank, microbatch));
    for (let microbatch = 0; microbatch < microbatches; microbatch++) actions.push(action('B', rank, microbatch));
    order.push(actions);
  }
  return buildSchedule('gpipe', ranks, microbatches, loopedPlacement(ranks, ranks), order);
}
