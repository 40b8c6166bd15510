import { UsageError } from '../errors.js';
import { quote } from '../quote.js';

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
 * Splits whose slowest stage is within this fraction of the fastest possible count as tied: profiling one
 * unit on a busy machine varies by about a fifth from run to run, so a smaller margin is noise, not a win.
 */
export const NEAR_TIE = 0.2;

/**
 * The contiguous split into costs.length non-empty stages, each at its own rank's speed, chosen so timing noise
 * cannot flip it. Among the splits whose slowest stage costs at most (1 + NEAR_TIE) × the fastest possible, it
 * takes the one whose largest stage has the fewest transformer blocks (the embedding and head are cheap beside
 * a block and do not count), and of those the one with more units early (the embedding, a table lookup, leaves
 * the first stage room for a block). Each check is one linear scan per stage, so 100 000 layers split at once.
 */
export function balancedPartition(costs: StageUnitCosts): Partition {
  const stages = costs.length;
  const units = costs[0]!.length;
  if (stages > units) {
    throw new UsageError(`cannot cut ${units} units (embedding, ${units - 2} block${units === 3 ? '' : 's'}, head) into ${stages} stages: use at most ${units} stages or more layers`);
  }
  if (!costs.every((row) => row.length === units && row.every((cost) => cost >= 0 && Number.isFinite(cost)))) {
    throw new RangeError(`unit costs must be finite and non-negative, ${units} per stage`);
  }
  // prefix[s][u]: the first u units' cost at stage s's speed
  const prefix = costs.map((row) => {
    const sums = [0];
    for (const cost of row) sums.push(sums[sums.length - 1]! + cost);
    return sums;
  });
  const blocks = Math.max(0, units - 2);
  const fits = (limits: Limits): boolean => finishable(prefix, limits)[0]![0] === 1;
  const slowest = prefix.reduce((most, sums) => Math.max(most, sums[units]!), 0); // any split fits within it
  const cost = smallestFittingCost(slowest, (limit) => fits({ cost: limit, blocks })) * (1 + NEAR_TIE);
  // The fewest blocks the largest stage can hold, by bisection; with every block allowed the cost limit fits.
  let tooFew = Math.ceil(blocks / stages) - 1;
  let fewestBlocks = blocks;
  while (fewestBlocks - tooFew > 1) {
    const middle = Math.floor((tooFew + fewestBlocks) / 2);
    if (fits({ cost, blocks: middle })) fewestBlocks = middle;
    else tooFew = middle;
  }
  return longestFirst(prefix, { cost, blocks: fewestBlocks });
}

/** The most one stage may cost and the most transformer blocks it may hold. */
interface Limits {
  readonly cost: number;
  readonly blocks: number;
}

/** Whether units [start, end) fit in stage `stage`; unit 0 (the embedding) and the last (the head) are not blocks. */
function withinLimits(prefix: readonly (readonly number[])[], stage: number, start: number, end: number, limits: Limits): boolean {
  const units = prefix[0]!.length - 1;
  const blocks = end - start - (start === 0 ? 1 : 0) - (end === units ? 1 : 0);
  return blocks <= limits.blocks && prefix[stage]![end]! - prefix[stage]![start]! <= limits.cost;
}

/**
 * finish[s][u] = 1 when units [u, end) can form stages s, s+1, … (each non-empty, within the limits). Stage s can
 * start at u and end at any v in (u, reach(u)], and reach only grows with u, so one scan per stage with a
 * running count of the next row's finishing positions decides every u.
 */
function finishable(prefix: readonly (readonly number[])[], limits: Limits): Uint8Array[] {
  const stages = prefix.length;
  const units = prefix[0]!.length - 1;
  const finish = Array.from({ length: stages + 1 }, () => new Uint8Array(units + 1));
  finish[stages]![units] = 1;
  for (let s = stages - 1; s >= 0; s--) {
    const next = finish[s + 1]!;
    // finishing[v]: positions w < v where stage s + 1 onwards can finish
    const finishing = new Int32Array(units + 2);
    for (let v = 0; v <= units; v++) finishing[v + 1] = finishing[v]! + next[v]!;
    let reach = 0; // the farthest end stage s may reach from u
    for (let u = 0; u < units; u++) {
      reach = Math.max(reach, u);
      while (reach < units && withinLimits(prefix, s, u, reach + 1, limits)) reach++;
      // some v in (u, reach] lets the later stages finish
      if (reach > u && finishing[reach + 1]! - finishing[u + 1]! > 0) finish[s]![u] = 1;
    }
  }
  return finish;
}

/** The smallest cost limit that `fits`, exactly: bisects the bit patterns of doubles, which sort as the values do. */
function smallestFittingCost(fitting: number, fits: (limit: number) => boolean): number {
  const bits = new BigInt64Array(1);
  const value = new Float64Array(bits.buffer);
  const toBits = (x: number): bigint => ((value[0] = x), bits[0]!);
  const fromBits = (b: bigint): number => ((bits[0] = b), value[0]!);
  let low = -1n; // below every non-negative double: never fits
  let high = toBits(fitting);
  while (high - low > 1n) {
    const middle = (low + high) / 2n;
    if (fits(fromBits(middle))) high = middle;
    else low = middle;
  }
  return fromBits(high);
}

/** Within the limits, each stage in turn takes as many units as still lets the later stages finish. */
function longestFirst(prefix: readonly (readonly number[])[], limits: Limits): Partition {
  const stages = prefix.length;
  const units = prefix[0]!.length - 1;
  const finish = finishable(prefix, limits);
  const starts = [0];
  for (let s = 0; s < stages - 1; s++) {
    const start = starts[s]!;
    let end = start + 1;
    while (end < units && withinLimits(prefix, s, start, end + 1, limits)) end++;
    while (finish[s + 1]![end] !== 1) end--;
    starts.push(end);
  }
  starts.push(units);
  return { starts };
}

/**
 * `--partition 3,3,2`: transformer blocks per stage; the embedding joins the first stage and the head the last.
 */
export function partitionFromBlocks(spec: string, layers: number, stages: number): Partition {
  const parts = spec.split(',').map((part) => part.trim());
  const counts = parts.map(Number);
  // Decimal digits, as every count the user types (1e0 or 0x1 are not block counts).
  if (parts.some((part) => !/^\d+$/.test(part)) || counts.some((count) => !Number.isSafeInteger(count))) {
    throw new UsageError(`--partition must be comma-separated block counts (whole numbers ≥ 0), got ${quote(spec)}`);
  }
  if (counts.length !== stages) {
    throw new UsageError(`--partition lists ${counts.length} stages but the schedule has ${stages}: give ${stages} block counts summing to ${layers}`);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== layers) {
    throw new UsageError(`--partition blocks sum to ${total} but the model has ${layers} layer${layers === 1 ? '' : 's'}: the counts must sum to ${layers}`);
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
