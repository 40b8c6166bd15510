import { generateSchedule, isScheduleName, scheduleNames, simulate, uniformCosts } from '../schedule/index.js';
import { UsageError } from '../errors.js';

/** What the planner takes from simulating a schedule: idle share and the worst stash, per rank. */
export interface PipelineShape {
  /** Per rank: idle / makespan with uniform costs. */
  readonly bubbleFraction: readonly number[];
  /** Per rank: most micro-batches' worth of that rank's activations stashed at once. */
  readonly inFlight: readonly number[];
}

/** Normalised costs: a forward is 1, a backward 2 (input and weight gradients 1 each), messages free. */
const NORMALISED = { F: 1, B: 2, I: 1, W: 1 } as const;

const cache = new Map<string, PipelineShape>();

/**
 * Simulates `schedule` on p ranks with m micro-batches and v chunks per rank under uniform normalised costs, once
 * per (schedule, p, m, v): the bubble and the micro-batches in flight depend on the shape, not on the model.
 */
export function pipelineShape(schedule: string, ranks: number, microbatches: number, chunks: number): PipelineShape {
  const key = `${schedule}/${ranks}/${microbatches}/${chunks}`;
  const known = cache.get(key);
  if (known !== undefined) return known;
  if (!isScheduleName(schedule)) {
    throw new UsageError(`unknown schedule '${schedule}'; accepted: ${scheduleNames.join(', ')}`);
  }
  const generated = generateSchedule(schedule, { ranks, microbatches, chunks });
  const timeline = simulate(generated, uniformCosts(generated, NORMALISED));
  const shape = { bubbleFraction: timeline.bubbleFraction, inFlight: timeline.peakActivations };
  cache.set(key, shape);
  return shape;
}
