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

/** Sum of unit costs per stage. */
export function stageCosts(partition: Partition, unitCosts: readonly number[]): number[] {
  return unitsPerStage(partition).map((_, stage) => {
    let sum = 0;
    for (let unit = partition.starts[stage]!; unit < partition.starts[stage + 1]!; unit++) sum += unitCosts[unit]!;
    return sum;
  });
}

/**
 * Splits whose slowest stage is within this fraction of the fastest possible count as tied: profiling one
 * unit on a busy machine varies by about a fifth from run to run, so a smaller margin is noise, not a win.
 */
export const NEAR_TIE = 0.2;

/**
 * The contiguous split into `stages` non-empty parts, chosen so timing noise cannot flip it. Among the splits
 * whose slowest stage costs at most (1 + NEAR_TIE) × the fastest possible, it takes the one whose largest stage
 * has the fewest transformer blocks (the embedding and head are cheap beside a block and do not count), and of
 * those the one with more units early (the embedding, a table lookup, leaves the first stage room for a block).
 * Every step is a greedy scan, so a model of 100 000 layers splits at once.
 */
export function balancedPartition(unitCosts: readonly number[], stages: number): Partition {
  const units = unitCosts.length;
  if (stages > units) {
    throw new UsageError(`cannot cut ${units} units (embedding, ${units - 2} blocks, head) into ${stages} stages: use at most ${units} stages or more layers`);
  }
  if (!unitCosts.every((cost) => cost >= 0 && Number.isFinite(cost))) throw new RangeError(`unit costs must be finite and non-negative, got [${unitCosts}]`);
  const prefix = [0];
  for (const cost of unitCosts) prefix.push(prefix[prefix.length - 1]! + cost);
  const blocks = Math.max(0, units - 2);
  const fits = (limits: Limits): boolean => fewestStages(prefix, limits)[0]! <= stages;
  const cost = smallestFittingCost(prefix, (limit) => fits({ cost: limit, blocks })) * (1 + NEAR_TIE);
  // The fewest blocks the largest stage can hold, by bisection; every block in one stage always fits.
  let tooFew = Math.ceil(blocks / stages) - 1;
  let fewestBlocks = blocks;
  while (fewestBlocks - tooFew > 1) {
    const middle = Math.floor((tooFew + fewestBlocks) / 2);
    if (fits({ cost, blocks: middle })) fewestBlocks = middle;
    else tooFew = middle;
  }
  return longestFirst(prefix, stages, { cost, blocks: fewestBlocks });
}

/** The most one stage may cost and the most transformer blocks it may hold. */
interface Limits {
  readonly cost: number;
  readonly blocks: number;
}

/** Whether units [start, end) fit in one stage; unit 0 (the embedding) and the last (the head) are not blocks. */
function withinLimits(prefix: readonly number[], start: number, end: number, limits: Limits): boolean {
  const units = prefix.length - 1;
  const blocks = end - start - (start === 0 ? 1 : 0) - (end === units ? 1 : 0);
  return blocks <= limits.blocks && prefix[end]! - prefix[start]! <= limits.cost;
}

/**
 * fewest[u]: how few stages can hold units [u, end) within the limits (Infinity when none can), taking as many
 * units as the limits allow into each stage (which needs the fewest stages).
 */
function fewestStages(prefix: readonly number[], limits: Limits): number[] {
  const units = prefix.length - 1;
  const fewest = new Array<number>(units + 1).fill(Infinity);
  fewest[units] = 0;
  let end = units; // the farthest end a stage starting at u may reach; it only moves left as u does
  for (let u = units - 1; u >= 0; u--) {
    while (end > u && !withinLimits(prefix, u, end, limits)) end--;
    if (end > u) fewest[u] = 1 + fewest[end]!;
  }
  return fewest;
}

/** The smallest cost limit that `fits`, exactly: bisects the bit patterns of doubles, which sort as the values do. */
function smallestFittingCost(prefix: readonly number[], fits: (limit: number) => boolean): number {
  const bits = new BigInt64Array(1);
  const value = new Float64Array(bits.buffer);
  const toBits = (x: number): bigint => ((value[0] = x), bits[0]!);
  const fromBits = (b: bigint): number => ((bits[0] = b), value[0]!);
  let low = -1n; // below every non-negative double: never fits
  let high = toBits(prefix[prefix.length - 1]!); // one stage of everything always fits
  while (high - low > 1n) {
    const middle = (low + high) / 2n;
    if (fits(fromBits(middle))) high = middle;
    else low = middle;
  }
  return fromBits(high);
}

/** Within the limits, each stage in turn takes as many units as still lets the rest form the remaining stages. */
function longestFirst(prefix: readonly number[], stages: number, limits: Limits): Partition {
  const units = prefix.length - 1;
  const fewest = fewestStages(prefix, limits);
  const starts = [0];
  for (let stage = 0; stage < stages - 1; stage++) {
    const start = starts[stage]!;
    const left = stages - stage - 1; // stages after this one: each needs a unit, and the rest must fit in them
    let end = units - left;
    while (!withinLimits(prefix, start, end, limits) || fewest[end]! > left) end--;
    starts.push(end);
  }
  starts.push(units);
  return { starts };
}

/**
 * `--partition 3,3,2`: transformer blocks per stage; the embedding joins the first stage and the head the last.
 */
export function partitionFromBlocks(spec: string, layers: number, stages: number): Partition {
  const counts = spec.split(',').map((part) => Number(part.trim()));
  if (counts.some((count) => !Number.isInteger(count) || count < 0)) {
    throw new UsageError(`--partition must be comma-separated block counts (whole numbers ≥ 0), got ${quote(spec)}`);
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
