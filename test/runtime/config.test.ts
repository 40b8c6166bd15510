import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrainOptions } from '../../src/runtime/config.js';
import { UsageError } from '../../src/errors.js';

const defaults = {
  layers: '4', embd: '256', heads: '4', seqLen: '128', batchSize: '16', microbatches: '4', steps: '10', lr: '3e-4',
  weightDecay: '0.1', clip: '1', seed: '0', untied: false, stages: '2', replicas: '1', schedule: '1f1b', recompute: false, json: false,
};

test('flag strings become numbers', () => {
  const options = parseTrainOptions(defaults);
  assert.equal(options.layers, 4);
  assert.equal(options.lr, 3e-4);
  assert.equal(options.stages, 2);
});

test('each bad value names its flag and what would be right', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ layers: '0' }, /--layers must be a whole number ≥ 1/],
    [{ embd: 'wide' }, /--embd must be a whole number/],
    [{ lr: '-1' }, /--lr must be a number > 0/],
    [{ heads: '3' }, /--embd 256 is not divisible by --heads 3: .*--heads 2/],
    [{ batchSize: '10' }, /--batch-size 10 is not divisible by --microbatches 4/],
    [{ saveEvery: '2' }, /--save-every needs --save/],
  ];
  for (const [override, message] of cases) {
    assert.throws(() => parseTrainOptions({ ...defaults, ...override }), (error: unknown) => error instanceof UsageError && message.test(error.message));
  }
});
