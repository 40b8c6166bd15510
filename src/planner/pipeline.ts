import { generateSchedule, simulate, uniformCosts } from '../schedule/index.js';
import { scheduleName } from './schedule-rules.js';

/** What the planner takes from simulating a schedule: idle share and the worst stash, per rank. */
export interface PipelineShape {
  /** Per rank: idle / makespan with uniform costs. */
  readonly bubbleFraction: readonly number[];
  /** Per rank: most micro-batches' worth of that rank's activations stashed at once. */
  readonly inFlight: readonly number[];
  /** The rank holding the model's last chunk (the output layer): p-1, or 0 for V-shaped placements. */
  readonly lastStageRank: number;
}

/** Normalised costs: a forward is 1, a backward 2 (input and weight gradients 1 each), messages free. */
const NORMALISED = { F: 1, B: 2, I: 1, W: 1 } as const;
const WORK_PER_MICROBATCH = NORMALISED.F + NORMALISED.B;
/** Beyond this many micro-batches per rank the schedules are in their periodic steady state. */
const STEADY_MICROBATCHES_PER_RANK = 8;

/** Per rank: idle time and peak stash of one simulation in normalised units. */
interface Simulated {
  readonly idle: readonly number[];
  readonly inFlight: readonly number[];
  readonly lastStageRank: number;
}

const simulations = new Map<string, Simulated>();

function simulateNormalised(schedule: string, ranks: number, microbatches: number, chunks: number): Simulated {
  const key = `${schedule}/${ranks}/${microbatches}/${chunks}`;
  const known = simulations.get(key);
  if (known !== undefined) return known;
  const generated = generateSchedule(scheduleName(schedule), { ranks, microbatches, chunks });
  const timeline = simulate(generated, uniformCosts(generated, NORMALISED));
  const result = {
    idle: timeline.busy.map((busy) => timeline.makespan - busy),
    inFlight: timeline.peakActivations,
    lastStageRank: generated.placement[generated.stages - 1]!,
  };
  simulations.set(key, result);
  return result;
}

/**
 * Simulates `schedule` on p ranks with m micro-batches and v chunks per rank under uniform normalised costs: the
 * bubble and the micro-batches in flight depend on this shape, not on the model, so each shape is simulated once.
 * Past 8·p micro-batches every schedule repeats a period of p micro-batches, so idle time and stash are read from
 * simulations at 8p and 9p and continued along that line (constant for 1F1B, stash growing by one per
 * micro-batch for GPipe) instead of simulating thousands of micro-batches.
 */
export function pipelineShape(schedule: string, ranks: number, microbatches: number, chunks: number): PipelineShape {
  const steady = STEADY_MICROBATCHES_PER_RANK * ranks;
  let idle: readonly number[];
  let inFlight: readonly number[];
  let lastStageRank: number;
  if (microbatches <= steady + ranks) {
    ({ idle, inFlight, lastStageRank } = simulateNormalised(schedule, ranks, microbatches, chunks));
  } else {
    const near = simulateNormalised(schedule, ranks, steady, chunks);
    lastStageRank = near.lastStageRank;
    const far = simulateNormalised(schedule, ranks, steady + ranks, chunks);
    const extend = (a: number, b: number): number => a + ((b - a) * (microbatches - steady)) / ranks;
    idle = near.idle.map((value, rank) => extend(value, far.idle[rank]!));
    inFlight = near.inFlight.map((value, rank) => extend(value, far.inFlight[rank]!));
  }
  const busy = microbatches * WORK_PER_MICROBATCH;
  return { bubbleFraction: idle.map((time) => time / (time + busy)), inFlight, lastStageRank };
}
