import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  activationBytesPerLayer, findPreset, modelStateBytes, totalParameters, type ModelShape,
} from '../../src/planner/index.js';

const gpt = (hidden: number, heads: number, seqLength: number): ModelShape => ({
  name: 'gpt', architecture: 'gpt', layers: 1, hidden, heads, kvHeads: heads, ffnHidden: 4 * hidden, seqLength,
  vocab: 51200, tiedEmbeddings: true,
});

const shapes = fc.record({
  heads: fc.constantFrom(8, 16, 32, 64),
  headDim: fc.constantFrom(64, 128),
  seqLength: fc.constantFrom(512, 2048, 4096),
  micro: fc.integer({ min: 1, max: 8 }),
  tp: fc.constantFrom(1, 2, 4, 8),
});

test('activations per layer follow Korthikanti et al. 2022 Table 2 for every variant', () => {
  fc.assert(
    fc.property(shapes, ({ heads, headDim, seqLength, micro, tp }) => {
      const h = heads * headDim;
      const model = gpt(h, heads, seqLength);
      const sbh = seqLength * micro * h;
      const scores = (5 * heads * seqLength) / h;
      const cases = [
        [{ sequenceParallel: false, recompute: 'none' }, sbh * (10 + 24 / tp + scores / tp)],
        [{ sequenceParallel: true, recompute: 'none' }, sbh * (34 / tp + scores / tp)],
        [{ sequenceParallel: false, recompute: 'selective' }, sbh * (10 + 24 / tp)],
        [{ sequenceParallel: true, recompute: 'selective' }, (sbh * 34) / tp],
        [{ sequenceParallel: false, recompute: 'full' }, 2 * sbh],
        [{ sequenceParallel: true, recompute: 'full' }, (2 * sbh) / tp],
      ] as const;
      for (const [options, expected] of cases) {
        const actual = activationBytesPerLayer(model, micro, tp, { ...options, flashAttention: false });
        assert.ok(Math.abs(actual - expected) <= 1e-9 * expected, `${JSON.stringify(options)}: ${actual} vs ${expected}`);
      }
      // Flash attention never stores the s×s scores: the selective figure without recomputing anything.
      const flash = activationBytesPerLayer(model, micro, tp, { sequenceParallel: true, recompute: 'none', flashAttention: true });
      assert.ok(Math.abs(flash - (sbh * 34) / tp) <= 1e-9 * flash);
    }),
    { numRuns: 80 },
  );
});

test('ZeRO shards optimizer, then gradients, then weights over d; 16 bytes per parameter, 18 with fp32 gradients', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 64 }), (parameters, dp) => {
      const total = (s: { weights: number; gradients: number; optimizer: number }): number => s.weights + s.gradients + s.optimizer;
      assert.equal(total(modelStateBytes(parameters, false, 0, dp)), 16 * parameters);
      assert.equal(total(modelStateBytes(parameters, true, 0, dp)), 18 * parameters);
      const zero1 = modelStateBytes(parameters, false, 1, dp);
      const zero2 = modelStateBytes(parameters, false, 2, dp);
      const zero3 = modelStateBytes(parameters, false, 3, dp);
      assert.ok(Math.abs(zero1.optimizer - (12 * parameters) / dp) < 1e-6 * parameters);
      assert.equal(zero1.gradients, 2 * parameters);
      assert.ok(Math.abs(zero2.gradients - (2 * parameters) / dp) < 1e-6 * parameters);
      assert.equal(zero2.weights, 2 * parameters);
      assert.ok(Math.abs(total(zero3) - (16 * parameters) / dp) < 1e-6 * parameters);
    }),
  );
});

test('preset parameter counts match the published model sizes within 1%', () => {
  const published: [string, number][] = [
    ['llama2-7b', 6.74e9], ['llama2-13b', 13.02e9], ['llama2-70b', 68.98e9],
    ['llama3-8b', 8.03e9], ['llama3-70b', 70.55e9], ['llama3-405b', 405.85e9],
    ['gpt3-175b', 175e9], ['megatron-1t', 1008e9], ['megatron-145.6b', 145.6e9], ['megatron-529.6b', 529.6e9],
  ];
  for (const [id, size] of published) {
    const count = totalParameters(findPreset(id));
    assert.ok(Math.abs(count - size) / size < 0.01, `${id}: ${(count / 1e9).toFixed(2)}B vs ${size / 1e9}B`);
  }
});

test('GPT presets count 12·l·h²·(1 + 13/12h + (V + s)/12lh) parameters (Narayanan et al. 2021 §5.1)', () => {
  for (const id of ['megatron-1.7b', 'megatron-18.4b', 'megatron-1t', 'gpt3-175b', 'gpt-22b']) {
    const { layers: l, hidden: h, vocab: v, seqLength: s } = findPreset(id);
    const formula = 12 * l * h * h + 13 * l * h + (v + s) * h; // the same, multiplied out (exact in integers)
    const count = totalParameters(findPreset(id));
    assert.equal(count - formula, 2 * h, `${id}: only the final LayerNorm (2h) is beyond the formula`);
  }
});
