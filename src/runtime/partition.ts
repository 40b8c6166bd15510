import { UsageError } from '../errors.js';

/**
 * Contiguous split of the model's units over the pipeline stages.
 * units = [embedding, block 0 … block L-1, head]; stage s holds units [starts[s], starts[s+1]).
 */
export interface Partition {
  /** First unit of each stage, plus the unit count at the end: length stages + 1. */
  readonly starts: readonly number[];
}

/** Units held by each stage. */
export function unitsPerStage(partition: Partition): number[] {
  return partition.starts.slice(1).map((end, stage) => end - partition.starts[stage]!);
}

/**
 * Seconds per unit as each stage's rank measured them: costs[stage][unit] over [embedding, h.0 … h.L-1, head].
 * Ranks on one host share a row; ranks on faster hosts may take more units.
 */
export type StageUnitCosts = readonly (readonly number[])[];

/** Sum of unit costs per stage, each stage at its own rank's speed. */
export function stageCosts(partition: Partition, costs: StageUnitCosts): number[] {
  return unitsPerStage(partition).map((_, stage) => {
    let sum = 0;
    for (let unit = partition.starts[stage]!; unit < partition.starts[stage + 1]!; unit++) sum += costs[stage]![unit]!;
    return sum;
  });
}

/**
 * The contiguous split into costs.length non-empty stages whose slowest stage is fastest (exact, by dynamic
 * programming). Ties go to the split that puts fewer units early, so the result is deterministic.
 */
export function balancedPartition(costs: StageUnitCosts): Partition {
  const stages = costs.length;
  const units = costs[0]!.length;
  if (stages > units) {
    throw new UsageError(`cannot cut ${units} units (embedding, ${units - 2} blocks, head) into ${stages} stages: use at most ${units} stages or more layers`);
  }
  // prefix[s][u]: the first u units' cost at stage s's speed
  const prefix = costs.map((row) => {
    const sums = [0];
    for (const cost of row) sums.push(sums[sums.length - 1]! + cost);
    return sums;
  });
  // best[s][u]: the smallest possible slowest-stage cost when the first u units form s stages.
  const best = Array.from({ length: stages + 1 }, () => new Array<number>(units + 1).fill(Infinity));
  const cut = Array.from({ length: stages + 1 }, () => new Array<number>(units + 1).fill(0));
  best[0]![0] = 0;
  for (let s = 1; s <= stages; s++) {
    const sums = prefix[s - 1]!;
    for (let u = s; u <= units - (stages - s); u++) {
      for (let start = s - 1; start < u; start++) {
        const slowest = Math.max(best[s - 1]![start]!, sums[u]! - sums[start]!);
        if (slowest < best[s]![u]!) {
          best[s]![u] = slowest;
          cut[s]![u] = start;
        }
      }
    }
  }
  const starts = [units];
  for (let s = stages, u = units; s > 0; s--) {
    u = cut[s]![u]!;
    starts.unshift(u);
  }
  return { starts };
}

/**
 * `--partition 3,3,2`: transformer blocks per stage; the embedding joins the first stage and the head the last.
 */
export function partitionFromBlocks(spec: string, layers: number, stages: number): Partition {
  const counts = spec.split(',').map((part) => Number(part.trim()));
  if (counts.some((count) => !Number.isInteger(count) || count < 0)) {
    throw new UsageError(`--partition must be comma-separated block counts (whole numbers ≥ 0), got '${spec}'`);
  }
  if (counts.length !== stages) {
    throw new UsageError(`--partition lists ${counts.length} stages but the schedule has ${stages}: give ${stages} block counts summing to ${layers}`);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== layers) {
    throw new UsageError(`--partition blocks sum to ${total} but the model has ${layers} layers: the counts must sum to ${layers}`);
  }
  const starts = [0];
  let block = 0;
  counts.forEach((count, stage) => {
    block += count;
    // Unit index = block index + 1 (the embedding is unit 0); the last stage also takes the head.
    starts.push(stage === stages - 1 ? layers + 2 : block + 1);
  });
  for (let stage = 0; stage < stages; stage++) {
    if (starts[stage + 1]! <= starts[stage]!) {
      throw new UsageError(`--partition gives stage ${stage} no units: every stage needs at least one block (the first and last may hold only the embedding or the head)`);
    }
  }
  return { starts };
}
