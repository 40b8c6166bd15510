/** Shared assembly of a generated schedule: one placement, one ordered action list per rank. */
import type { Action, Schedule } from '../types.js';

/** Looped placement: stage s lives on rank s mod p (one chunk per rank per loop). */
export function loopedPlacement(ranks: number, stages: number): number[] {
  return Array.from({ length: stages }, (_, stage) => stage % ranks);
}

/** V placement: stage s and stage 2p-1-s share rank s, so the pipeline runs down and back up. */
export function vPlacement(ranks: number): number[] {
  return Array.from({ length: 2 * ranks }, (_, stage) => (stage < ranks ? stage : 2 * ranks - 1 - stage));
}

export function buildSchedule(
  name: string,
  ranks: number,
  microbatches: number,
  placement: number[],
  order: Action[][],
  overlaps?: number[][],
): Schedule {
  return { name, ranks, stages: placement.length, microbatches, placement, order, ...(overlaps === undefined ? {} : { overlaps }) };
}
