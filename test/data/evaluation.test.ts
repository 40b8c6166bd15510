import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluationBatches } from '../../src/data/batches.js';
import { tokenRowBatches } from '../../src/data/token-rows.js';
import { UsageError } from '../../src/errors.js';

test('evaluation windows predict every token after the first exactly once, from its own window', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 300 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 5 }), (length, seqLen, rowsPerBatch) => {
      const tokens = Int32Array.from({ length }, (_, i) => i); // values name their position
      const predicted = new Array<number>(length).fill(0);
      for (const { batchSize, seqLen: T, inputs, targets } of evaluationBatches(tokens, seqLen, rowsPerBatch)) {
        assert.ok(batchSize >= 1 && batchSize <= rowsPerBatch && T >= 1 && T <= seqLen);
        for (let b = 0; b < batchSize; b++) {
          assert.equal(inputs[b * T]! % seqLen, 0, 'windows start at multiples of T');
          for (let t = 0; t < T; t++) {
            assert.equal(inputs[b * T + t], inputs[b * T]! + t);
            assert.equal(targets[b * T + t], inputs[b * T + t]! + 1);
            predicted[targets[b * T + t]!]!++;
          }
        }
      }
      assert.deepEqual(predicted, [0, ...new Array<number>(length - 1).fill(1)]);
    }),
  );
  assert.throws(() => evaluationBatches(Int32Array.of(4), 8, 2), UsageError);
});

test('token rows become inputs (all but the last id) and targets (all but the first), in batches', () => {
  const rows = [[1, 2, 3], [4, 5, 6], [7, 8, 9]];
  const batches = tokenRowBatches(rows, 'rows.json', { vocabSize: 10, maxSeqLen: 2 }, 2);
  assert.deepEqual(
    batches.map(({ batchSize, seqLen, inputs, targets }) => ({ batchSize, seqLen, inputs: [...inputs], targets: [...targets] })),
    [
      { batchSize: 2, seqLen: 2, inputs: [1, 2, 4, 5], targets: [2, 3, 5, 6] },
      { batchSize: 1, seqLen: 2, inputs: [7, 8], targets: [8, 9] },
    ],
  );
  const limits = { vocabSize: 10, maxSeqLen: 2 };
  const bad: [unknown, RegExp][] = [
    [{ rows }, /non-empty JSON array/],
    [[], /non-empty JSON array/],
    [[[1]], /rows need at least 2 ids/],
    [[[1, 2, 3, 4]], /4 ids give 3 inputs, more than the model's n_positions 2/],
    [[[1, 2], [1]], /row 1 is not a list of 2 token ids/],
    [[[1, 2], 'ab'], /row 1 is not a list/],
    [[[1, 2.5]], /row 0, position 1 is 2\.5/],
    [[[1, -1]], /row 0, position 1 is -1, expected a token id in \[0, 10\)/],
    [[[10, 1]], /row 0, position 0 is 10/],
  ];
  for (const [value, pattern] of bad) {
    assert.throws(() => tokenRowBatches(value, 'rows.json', limits, 2), (e: unknown) => e instanceof UsageError && e.message.startsWith('rows.json') && pattern.test(e.message), JSON.stringify(value));
  }
});
