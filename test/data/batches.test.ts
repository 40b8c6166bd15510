import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BatchSampler, sampleBatch, splitTokens, validationBatches } from '../../src/data/batches.js';
import { SplitMix32 } from '../../src/data/random.js';
import { UsageError } from '../../src/errors.js';

/** Tokens 0, 1, 2, ...: a window's values reveal where it was taken from. */
function ramp(length: number): Int32Array {
  return Int32Array.from({ length }, (_, i) => i);
}

/** Each row must be a contiguous window inside tokens, targets shifted by one; returns the row starts. */
function assertWindows(tokens: Int32Array, batch: { batchSize: number; seqLen: number; inputs: Int32Array; targets: Int32Array }): number[] {
  const { batchSize, seqLen, inputs, targets } = batch;
  assert.equal(inputs.length, batchSize * seqLen);
  assert.equal(targets.length, batchSize * seqLen);
  const first = tokens[0]!;
  return Array.from({ length: batchSize }, (_, b) => {
    const start = inputs[b * seqLen]! - first;
    assert.ok(start >= 0 && start + seqLen < tokens.length, `row ${b} starts at ${start}`);
    for (let t = 0; t < seqLen; t++) {
      assert.equal(inputs[b * seqLen + t], tokens[start + t]);
      assert.equal(targets[b * seqLen + t], tokens[start + t + 1]);
    }
    return start;
  });
}

const shapes = fc.record({
  length: fc.integer({ min: 2, max: 400 }),
  batchSize: fc.integer({ min: 1, max: 8 }),
  seqLen: fc.integer({ min: 1, max: 64 }),
  seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  index: fc.nat(10_000),
}).filter(({ length, seqLen }) => length > seqLen);

test('a batch is B in-bounds windows with targets shifted by one, and the same (seed, index) gives the same batch', () => {
  fc.assert(
    fc.property(shapes, ({ length, batchSize, seqLen, seed, index }) => {
      const tokens = ramp(length);
      const batch = sampleBatch(tokens, { batchSize, seqLen }, seed, index);
      assertWindows(tokens, batch);
      assert.deepEqual(sampleBatch(tokens, { batchSize, seqLen }, seed, index), batch);
    }),
  );
});

test('different batch indices and different seeds draw different windows', () => {
  const tokens = ramp(100_000);
  const shape = { batchSize: 16, seqLen: 8 };
  const starts = (seed: number, index: number) => assertWindows(tokens, sampleBatch(tokens, shape, seed, index)).join();
  const seen = new Set<string>();
  for (let index = 0; index < 50; index++) seen.add(starts(1, index));
  for (let seed = 2; seed < 52; seed++) seen.add(starts(seed, 0));
  assert.equal(seen.size, 100);
});

test('window starts cover every legal offset about equally often', () => {
  const tokens = ramp(12); // T = 4: legal starts 0..7
  const counts = new Array<number>(8).fill(0);
  for (let index = 0; index < 500; index++) {
    for (const start of assertWindows(tokens, sampleBatch(tokens, { batchSize: 16, seqLen: 4 }, 9, index))) counts[start]!++;
  }
  for (const count of counts) assert.ok(Math.abs(count - 1000) < 150, `counts ${counts}`); // 8000 draws, sd ≈ 30
});

test('the sampler resumes from a saved position exactly', () => {
  const tokens = ramp(5_000);
  const shape = { batchSize: 4, seqLen: 16 };
  const uninterrupted = new BatchSampler(tokens, shape, 7);
  const run = Array.from({ length: 10 }, () => uninterrupted.next());
  const firstHalf = new BatchSampler(tokens, shape, 7);
  for (let i = 0; i < 6; i++) firstHalf.next();
  const resumed = new BatchSampler(tokens, shape, 7, firstHalf.position);
  assert.equal(firstHalf.position, 6);
  assert.deepEqual(Array.from({ length: 4 }, () => resumed.next()), run.slice(6));
});

test('SplitMix32.nextBelow stays in range and hits every value of a small range', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 1, max: 2 ** 32 }), (seed, bound) => {
      const random = new SplitMix32(seed);
      for (let i = 0; i < 20; i++) {
        const value = random.nextBelow(bound);
        assert.ok(Number.isInteger(value) && value >= 0 && value < bound);
      }
    }),
  );
  const random = new SplitMix32(3);
  const hits = new Set(Array.from({ length: 200 }, () => random.nextBelow(5)));
  assert.equal(hits.size, 5);
});

test('the split is disjoint, covers every token, and holds out the tail', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 10_000 }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), (length, fraction) => {
      const tokens = ramp(length);
      const { train, validation } = splitTokens(tokens, fraction);
      assert.ok(validation.length >= 1);
      assert.equal(train.length + validation.length, length);
      assert.equal(train.length === 0 ? 0 : train[train.length - 1]! + 1, validation[0]);
      assert.equal(validation[validation.length - 1], length - 1);
      assert.ok(Math.abs(validation.length - length * fraction) <= 1);
    }),
  );
});

test('validation batches are fixed, stay inside the validation split, and span it from first to last token', () => {
  fc.assert(
    fc.property(shapes, fc.integer({ min: 1, max: 5 }), ({ length, batchSize, seqLen }, count) => {
      const validation = ramp(length + 1000).subarray(1000); // values start at 1000: a window from outside would show
      const batches = validationBatches(validation, { batchSize, seqLen }, count);
      assert.equal(batches.length, count);
      const starts = batches.flatMap((batch) => assertWindows(validation, batch));
      assert.equal(starts[0], 0);
      if (starts.length > 1) assert.equal(starts[starts.length - 1], length - seqLen - 1);
      for (let i = 1; i < starts.length; i++) assert.ok(starts[i]! >= starts[i - 1]!);
      assert.deepEqual(validationBatches(validation, { batchSize, seqLen }, count), batches);
    }),
  );
});

test('too little text for the sequence length, or a bad shape, is a usage error saying what would work', () => {
  const tokens = ramp(10);
  assert.throws(() => sampleBatch(tokens, { batchSize: 2, seqLen: 10 }, 0, 0), (e: unknown) => e instanceof UsageError && /has 10 tokens .* needs at least 11/.test(e.message));
  assert.throws(() => validationBatches(tokens, { batchSize: 0, seqLen: 2 }, 1), UsageError);
  assert.throws(() => new BatchSampler(tokens, { batchSize: 1, seqLen: 2.5 }, 0), UsageError);
});
