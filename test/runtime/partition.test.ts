import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { balancedPartition, NEAR_TIE, partitionFromBlocks, stageCosts, unitsPerStage, type StageUnitCosts } from '../../src/runtime/partition.js';

/** Every contiguous split into non-empty parts, by brute force: the independent reference. */
function allSplits(units: number, stages: number): number[][] {
  if (stages === 1) return [[0, units]];
  const splits: number[][] = [];
  for (let firstEnd = 1; firstEnd <= units - stages + 1; firstEnd++) {
    for (const rest of allSplits(units - firstEnd, stages - 1)) splits.push([0, firstEnd, ...rest.slice(1).map((u) => u + firstEnd)]);
  }
  return splits;
}

const slowestOf = (starts: number[], costs: StageUnitCosts): number => Math.max(...stageCosts({ starts }, costs));
const countsOf = (starts: number[]): number[] => unitsPerStage({ starts });
/** Transformer blocks per stage: every unit but the first (embedding) and the last (head). */
const blocksOf = (starts: number[], units: number): number[] =>
  countsOf(starts).map((count, stage) => count - (stage === 0 ? 1 : 0) - (starts[stage + 1] === units ? 1 : 0));

/** The rule written out over every split: near-ties of the fastest, then the fewest blocks on the largest stage, then more units early. */
function referencePartition(costs: StageUnitCosts): number[] {
  const units = costs[0]!.length;
  const splits = allSplits(units, costs.length);
  const optimum = Math.min(...splits.map((starts) => slowestOf(starts, costs)));
  const tied = splits.filter((starts) => slowestOf(starts, costs) <= optimum * (1 + NEAR_TIE));
  const largest = (starts: number[]): number => Math.max(...blocksOf(starts, units));
  const fewest = Math.min(...tied.map(largest));
  const even = tied.filter((starts) => largest(starts) === fewest);
  const moreEarly = (a: number[], b: number[]): number => {
    const [x, y] = [countsOf(a), countsOf(b)];
    const differ = x.findIndex((count, i) => count !== y[i]);
    return differ < 0 ? 0 : y[differ]! - x[differ]!;
  };
  return even.sort(moreEarly)[0]!;
}

/** One row of unit costs per stage, all at one speed. */
const oneSpeed = (costs: readonly number[], stages: number): number[][] => Array.from({ length: stages }, () => [...costs]);

test('balanced partition follows its rule exactly, each stage at its own rank\'s speed (brute force over every split)', () => {
  const costs = fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 9 });
  // a speed factor per stage's rank: 1 everywhere is one host, other factors are faster or slower hosts
  const speeds = fc.array(fc.constantFrom(1, 1, 2, 3), { minLength: 1, maxLength: 9 });
  fc.assert(
    fc.property(costs, speeds, (unitCosts, speedsWanted) => {
      const stages = Math.min(speedsWanted.length, unitCosts.length);
      const perStage = speedsWanted.slice(0, stages).map((speed) => unitCosts.map((cost) => cost * speed));
      const partition = balancedPartition(perStage);
      assert.equal(partition.starts.length, stages + 1);
      assert.ok(unitsPerStage(partition).every((count) => count >= 1));
      assert.deepEqual(partition.starts, referencePartition(perStage));
      const optimum = Math.min(...allSplits(unitCosts.length, stages).map((starts) => slowestOf(starts, perStage)));
      assert.ok(slowestOf([...partition.starts], perStage) <= optimum * (1 + NEAR_TIE));
    }),
  );
});

test('a slower rank gets fewer units', () => {
  const unit = [1, 1, 1, 1, 1, 1];
  assert.deepEqual(balancedPartition([unit, unit]).starts, [0, 3, 6]);
  assert.deepEqual(balancedPartition([unit, unit.map((cost) => cost * 2)]).starts, [0, 4, 6]);
});

test('a near-tie goes to the most even block counts, whatever the noise (e.g. 2 layers on 3 ranks)', () => {
  // Measured on this machine: embedding 0.15 ms, block 2.6 ms, head 0.4 ms; the head measured below the
  // embedding used to flip the split between [e h.0 | h.1 | head] and [e | h.0 | h.1 head].
  assert.deepEqual(balancedPartition(oneSpeed([0.15, 2.6, 2.6, 0.4], 3)).starts, [0, 2, 3, 4]);
  assert.deepEqual(balancedPartition(oneSpeed([0.4, 2.6, 2.6, 0.15], 3)).starts, [0, 2, 3, 4]);
});

test('GPT-shaped costs under ±10% timing noise split the same way as without noise', () => {
  // Blocks cost 1 each; the embedding and head cost up to 15% of a block, as profiled for small vocabularies.
  const gpt = fc.record({
    layers: fc.integer({ min: 1, max: 12 }),
    stages: fc.integer({ min: 2, max: 5 }),
    embedding: fc.double({ min: 0.01, max: 0.15, noNaN: true }),
    head: fc.double({ min: 0.01, max: 0.15, noNaN: true }),
  });
  fc.assert(
    fc.property(gpt, fc.array(fc.double({ min: -0.1, max: 0.1, noNaN: true }), { minLength: 14, maxLength: 14 }), (model, noise) => {
      const costs = [model.embedding, ...new Array<number>(model.layers).fill(1), model.head];
      const stages = Math.min(model.stages, costs.length);
      const noisy = costs.map((cost, unit) => cost * (1 + noise[unit]!));
      assert.deepEqual(balancedPartition(oneSpeed(noisy, stages)).starts, balancedPartition(oneSpeed(costs, stages)).starts);
    }),
    { numRuns: 500 },
  );
});

test('100 000 units split without a quadratic search', () => {
  const costs = Array.from({ length: 100_002 }, (_, unit) => 1 + (unit % 7) / 10);
  const partition = balancedPartition(oneSpeed(costs, 8));
  assert.equal(partition.starts.length, 9);
  assert.ok(unitsPerStage(partition).every((count) => count > 10_000));
});

test('more stages than units is refused with what would work', () => {
  assert.throws(() => balancedPartition([[1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1]]), /at most 3 stages/);
});

test('--partition counts blocks; the embedding joins the first stage and the head the last', () => {
  assert.deepEqual(partitionFromBlocks('3,3,2', 8, 3).starts, [0, 4, 7, 10]);
  assert.deepEqual(partitionFromBlocks('0,2', 2, 2).starts, [0, 1, 4]);
  assert.throws(() => partitionFromBlocks('3,3', 8, 3), /lists 2 stages but the schedule has 3/);
  assert.throws(() => partitionFromBlocks('3,3,3', 8, 3), /sum to 9 but the model has 8/);
  assert.throws(() => partitionFromBlocks('a,b', 8, 2), /whole numbers/);
  assert.throws(() => partitionFromBlocks('2,0,2', 4, 3), /stage 1 no units/);
});
