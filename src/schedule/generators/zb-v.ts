/**
 * ZB-V (Qi et al. 2024, "Zero Bubble Pipeline Parallelism", section 6): two chunks per rank in a V
 * placement (rank r holds stages r and 2p-1-r), backward split into I and W. Each rank warms up on its
 * first chunk, then settles into F I W on both chunks; with F = I = W the steady state has no bubble and
 * every rank holds at most 2p chunk activations, i.e. p micro-batches' worth, the peak of 1F1B.
 * The phases are written for n = max(m, 2p-1) micro-batches; with fewer, actions beyond m are dropped.
 */
import { action } from '../actions.js';
import type { Action, ActionKind, Schedule } from '../types.js';
import { buildSchedule, vPlacement } from './build.js';

function rankOrder(ranks: number, rank: number, microbatches: number): Action[] {
  const fullMicrobatches = Math.max(microbatches, 2 * ranks - 1);
  const stageOf = [rank, 2 * ranks - 1 - rank]; // [chunk]
  // next[kind][chunk]: the micro-batch the next action of that kind on that chunk runs.
  const next: Record<'F' | 'I' | 'W', [number, number]> = { F: [0, 0], I: [0, 0], W: [0, 0] };
  const actions: Action[] = [];
  const emit = (...steps: [Exclude<ActionKind, 'B'>, 0 | 1][]): void => {
    for (const [kind, chunk] of steps) actions.push(action(kind, stageOf[chunk]!, next[kind][chunk]++));
  };
  const repeat = (times: number, ...steps: [Exclude<ActionKind, 'B'>, 0 | 1][]): void => {
    for (let i = 0; i < times; i++) emit(...steps);
  };

  repeat(2 * (ranks - rank) - 1, ['F', 0]);
  repeat(rank, ['F', 1], ['F', 0]);
  repeat(ranks - rank, ['F', 1], ['I', 1], ['W', 1]);
  while (next.F[1] < next.F[0] || next.F[0] < fullMicrobatches) {
    if (next.F[0] < fullMicrobatches) emit(['F', 0]);
    emit(['I', 0], ['W', 0], ['F', 1], ['I', 1], ['W', 1]);
  }
  repeat(rank, ['I', 0], ['I', 1]);
  repeat(ranks - rank, ['I', 0], ['W', 0]);
  while (next.W[1] < fullMicrobatches) emit(['W', 1]);
  while (next.W[0] < fullMicrobatches) emit(['W', 0]);
  return actions.filter((a) => a.microbatch < microbatches);
}

export function zeroBubbleVSchedule(ranks: number, microbatches: number): Schedule {
  const order = Array.from({ length: ranks }, (_, rank) => rankOrder(ranks, rank, microbatches));
  return buildSchedule('zb-v', ranks, microbatches, vPlacement(ranks), order);
}
