import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { balancedPartition, partitionFromBlocks, stageCosts, unitsPerStage } from '../../src/runtime/partition.js';

/** Every contiguous split into non-empty parts, by brute force: the independent reference. */
function allSplits(units: number, stages: number): number[][] {
  if (stages === 1) return [[0, units]];
  const splits: number[][] = [];
  for (let firstEnd = 1; firstEnd <= units - stages + 1; firstEnd++) {
    for (const rest of allSplits(units - firstEnd, stages - 1)) splits.push([0, firstEnd, ...rest.slice(1).map((u) => u + firstEnd)]);
  }
  return splits;
}

test('balanced partition finds the smallest slowest stage, each stage at its own rank\'s speed (brute-force reference)', () => {
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
      const slowest = Math.max(...stageCosts(partition, perStage));
      const optimum = Math.min(...allSplits(unitCosts.length, stages).map((starts) => Math.max(...stageCosts({ starts }, perStage))));
      assert.equal(slowest, optimum);
    }),
  );
});

test('a slower rank gets fewer units', () => {
  const unit = [1, 1, 1, 1, 1, 1];
  assert.deepEqual(balancedPartition([unit, unit]).starts, [0, 3, 6]);
  assert.deepEqual(balancedPartition([unit, unit.map((cost) => cost * 2)]).starts, [0, 4, 6]);
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
