/**
 * The forward-only schedule that evaluation runs, on a training schedule's placement: every rank forwards
 * each micro-batch through each stage it owns. The order comes from a list-scheduling pass in unit time
 * steps: a free rank runs, of its stages' next ready forwards, the one of the earliest micro-batch (and of
 * the later stage on a tie, so a micro-batch leaves the rank sooner). Any placement works, looped or V.
 */
import { UsageError } from '../errors.js';
import { action } from './actions.js';
import { indexSchedule } from './structure.js';
import type { Action, Schedule } from './types.js';

export function evaluationSchedule(training: Schedule, microbatches: number): Schedule {
  if (!Number.isInteger(microbatches) || microbatches < 1) {
    throw new UsageError(`evaluation micro-batches must be a positive integer (got ${microbatches})`);
  }
  indexSchedule(training); // the placement must be sound before it is reused
  const { ranks, stages, placement } = training;
  const stagesOf = Array.from({ length: ranks }, (_, rank) => placement.flatMap((owner, stage) => (owner === rank ? [stage] : [])));
  const next = new Int32Array(stages); // [stages] the micro-batch each stage forwards next
  const finished = new Float64Array(stages * microbatches).fill(Infinity); // [stage * microbatches + m] end time of F(stage, m)
  const order: Action[][] = stagesOf.map(() => []);
  let remaining = stages * microbatches;
  for (let time = 0; remaining > 0; time++) {
    const runs: [number, number][] = []; // (stage, micro-batch) started this step, recorded after every rank chose
    stagesOf.forEach((owned, rank) => {
      let chosen = -1;
      for (const stage of owned) {
        const microbatch = next[stage]!;
        if (microbatch >= microbatches) continue;
        if (stage > 0 && finished[(stage - 1) * microbatches + microbatch]! > time) continue;
        if (chosen < 0 || microbatch < next[chosen]! || (microbatch === next[chosen]! && stage > chosen)) chosen = stage;
      }
      if (chosen < 0) return;
      order[rank]!.push(action('F', chosen, next[chosen]!));
      runs.push([chosen, next[chosen]!]);
      next[chosen]!++;
    });
    for (const [stage, microbatch] of runs) finished[stage * microbatches + microbatch] = time + 1;
    remaining -= runs.length;
  }
  return { name: `${training.name}-eval`, ranks, stages, microbatches, placement: [...placement], order };
}
