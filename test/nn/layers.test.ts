import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UsageError } from '../../src/errors.js';
import { createParameter } from '../../src/nn/init.js';
import { Embedding } from '../../src/nn/layers/embedding.js';
import { LayerNorm } from '../../src/nn/layers/layer-norm.js';
import { Linear, type WeightLayout } from '../../src/nn/layers/linear.js';
import {
  assertBitwiseEqual,
  assertClose,
  dot,
  maxAbs,
  numericGradient,
  randomArray,
  toFloat64,
} from '../tensor/ops/helpers.js';
import { referenceLayerNorm, referenceLinear } from '../tensor/ops/reference.js';

function randomLinear(inFeatures: number, outFeatures: number, layout: WeightLayout, withBias: boolean, seed: number): Linear {
  const shape = layout === 'in-out' ? [inFeatures, outFeatures] : [outFeatures, inFeatures];
  const weight = createParameter('w', shape, 'zeros', 0);
  weight.data.set(randomArray(weight.data.length, seed));
  const bias = withBias ? createParameter('b', [outFeatures], 'zeros', 0) : null;
  bias?.data.set(randomArray(outFeatures, seed + 1));
  return new Linear(weight, bias, inFeatures, outFeatures, layout);
}

const linearCases = fc.record({
  N: fc.integer({ min: 1, max: 6 }),
  inFeatures: fc.integer({ min: 1, max: 9 }),
  outFeatures: fc.integer({ min: 1, max: 9 }),
  layout: fc.constantFrom<WeightLayout>('in-out', 'out-in'),
  withBias: fc.boolean(),
  seed: fc.nat(),
});

test('Linear (Conv1D and transposed layouts) matches the float64 product and finite differences', () => {
  fc.assert(
    fc.property(linearCases, ({ N, inFeatures, outFeatures, layout, withBias, seed }) => {
      const linear = randomLinear(inFeatures, outFeatures, layout, withBias, seed);
      const x = randomArray(N * inFeatures, seed + 2);
      const dy = randomArray(N * outFeatures, seed + 3);
      const y = new Float32Array(N * outFeatures);
      linear.forward(y, x, N);
      const w64 = toFloat64(linear.weight.data);
      const b64 = linear.bias === null ? null : toFloat64(linear.bias.data);
      const x64 = toFloat64(x);
      const forward = () => referenceLinear(x64, w64, b64, N, inFeatures, outFeatures, layout);
      assertClose(y, forward(), 'y', { abs: 1e-5, rel: 1e-5 });
      const loss = () => dot(dy, forward());
      const dx = new Float32Array(N * inFeatures);
      linear.backward(dx, dy, x, N);
      assertClose(dx, numericGradient(loss, x64), 'dx', { abs: 1e-5, rel: 1e-4 });
      assertClose(linear.weight.grad, numericGradient(loss, w64), 'dW', { abs: 1e-5, rel: 1e-4 });
      if (b64 !== null) assertClose(linear.bias!.grad, numericGradient(loss, b64), 'db', { abs: 1e-5, rel: 1e-4 });
    }),
    { numRuns: 40 },
  );
});

test('Linear: backwardInput then backwardWeight is bitwise the full backward, and W accumulates', () => {
  fc.assert(
    fc.property(linearCases, ({ N, inFeatures, outFeatures, layout, withBias, seed }) => {
      const full = randomLinear(inFeatures, outFeatures, layout, withBias, seed);
      const split = randomLinear(inFeatures, outFeatures, layout, withBias, seed);
      const x = randomArray(N * inFeatures, seed + 2);
      const dy = randomArray(N * outFeatures, seed + 3);
      const dxFull = new Float32Array(N * inFeatures);
      const dxSplit = new Float32Array(N * inFeatures);
      full.backward(dxFull, dy, x, N);
      full.backward(dxFull, dy, x, N); // a second micro-batch accumulates
      split.backwardInput(dxSplit, dy, N);
      split.backwardWeight(dy, x, N);
      split.backwardInput(dxSplit, dy, N);
      split.backwardWeight(dy, x, N);
      assertBitwiseEqual(dxSplit, dxFull, 'dx');
      assertBitwiseEqual(split.weight.grad, full.weight.grad, 'dW');
      if (withBias) assertBitwiseEqual(split.bias!.grad, full.bias!.grad, 'db');
      const once = randomLinear(inFeatures, outFeatures, layout, withBias, seed);
      once.backwardWeight(dy, x, N);
      assertClose(full.weight.grad, once.weight.grad.map((g) => 2 * g), 'accumulated dW', { abs: 1e-5, rel: 1e-5 });
    }),
    { numRuns: 30 },
  );
});

test('LayerNorm layer: gradients match finite differences and I + W is bitwise B', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 2, max: 12 }), fc.nat(), (N, C, seed) => {
      const make = () => {
        const weight = createParameter('ln.weight', [C], 'ones', 0);
        const bias = createParameter('ln.bias', [C], 'zeros', 0);
        weight.data.set(randomArray(C, seed, 2));
        bias.data.set(randomArray(C, seed + 1));
        return new LayerNorm(weight, bias, C);
      };
      const full = make();
      const split = make();
      const x = randomArray(N * C, seed + 2, 2);
      const dy = randomArray(N * C, seed + 3);
      const out = new Float32Array(N * C);
      const stats = { mean: new Float32Array(N), rstd: new Float32Array(N) };
      full.forward(out, stats, x, N);
      const dxFull = new Float32Array(N * C);
      const dxSplit = new Float32Array(N * C);
      full.backward(dxFull, dy, x, stats, N);
      split.backwardInput(dxSplit, dy, x, stats, N);
      split.backwardWeight(dy, x, stats, N);
      assertBitwiseEqual(dxSplit, dxFull, 'dx');
      assertBitwiseEqual(split.weight.grad, full.weight.grad, 'dweight');
      assertBitwiseEqual(split.bias.grad, full.bias.grad, 'dbias');
      // a row of nearly equal values (variance near the 1e-5 epsilon) makes float32 dx ill-conditioned, not wrong
      if (Array.from(stats.rstd).some((rstd) => rstd > 30)) return;
      const x64 = toFloat64(x);
      const w64 = toFloat64(full.weight.data);
      const b64 = toFloat64(full.bias.data);
      const loss = () => dot(dy, referenceLayerNorm(x64, w64, b64, N, C));
      const expectedDx = numericGradient(loss, x64);
      assertClose(dxFull, expectedDx, 'dx', { abs: 1e-4 * (1 + maxAbs(expectedDx)), rel: 1e-4 });
      assertClose(full.weight.grad, numericGradient(loss, w64), 'dweight', { abs: 1e-4, rel: 1e-4 });
      assertClose(full.bias.grad, numericGradient(loss, b64), 'dbias', { abs: 1e-4, rel: 1e-4 });
    }),
    { numRuns: 30 },
  );
});

test('Embedding refuses token ids outside the vocabulary and sequences above the block size', () => {
  const wte = createParameter('wte.weight', [5, 3], { normalStd: 0.02 }, 1);
  const wpe = createParameter('wpe.weight', [4, 3], { normalStd: 0.02 }, 1);
  const embedding = new Embedding(wte, wpe, 5, 4, 3);
  const out = new Float32Array(2 * 4 * 3);
  assert.throws(() => embedding.forward(out, new Int32Array([0, 1, 5, 2]), 1, 4), (error: unknown) => {
    return error instanceof UsageError && /token id 5 at position 2/.test(error.message) && /\[0, 5\)/.test(error.message);
  });
  assert.throws(() => embedding.forward(out, new Int32Array([0, -1, 2, 3]), 1, 4), UsageError);
  assert.throws(() => embedding.forward(out, new Int32Array(5), 1, 5), /sequence length 5 exceeds the model's block size 4/);
});
