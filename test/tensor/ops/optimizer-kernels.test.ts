import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import '../backend-from-environment.js';
import { adamwUpdate, clipScale, sumOfSquares } from '../../../src/tensor/index.js';
import { assertClose, randomArray } from './helpers.js';

/** PyTorch's AdamW as documented (decoupled decay first, then the bias-corrected Adam step), in float64. */
function referenceAdamW(
  param: Float64Array,
  grads: Float32Array[],
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  decay: number,
  gradScale: number,
): Float64Array {
  const p = param.slice();
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  grads.forEach((grad, index) => {
    const t = index + 1;
    for (let i = 0; i < p.length; i++) {
      const g = grad[i]! * gradScale;
      p[i] = p[i]! * (1 - lr * decay);
      m[i] = beta1 * m[i]! + (1 - beta1) * g;
      v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
      const mHat = m[i]! / (1 - beta1 ** t);
      const vHat = v[i]! / (1 - beta2 ** t);
      p[i] = p[i]! - (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
  });
  return p;
}

test('AdamW update follows the decoupled-weight-decay formula with bias correction over several steps', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 6 }),
      fc.constantFrom(0, 0.1),
      fc.constantFrom(1, 0.5),
      fc.nat(),
      (n, steps, decay, gradScale, seed) => {
        const param = randomArray(n, seed);
        const grads = Array.from({ length: steps }, (_, s) => randomArray(n, seed + 1 + s, 0.3));
        const hyper = { learningRate: 1e-2, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: decay };
        const expected = referenceAdamW(Float64Array.from(param), grads, 1e-2, 0.9, 0.95, 1e-8, decay, gradScale);
        const m = new Float32Array(n);
        const v = new Float32Array(n);
        grads.forEach((grad, s) => adamwUpdate(param, grad, m, v, n, s + 1, gradScale, hyper));
        assertClose(param, expected, 'param', { abs: 1e-5, rel: 1e-5 });
      },
    ),
    { numRuns: 50 },
  );
});

test('sum of squares is the float64 sum and the clip scale is PyTorch clip_grad_norm_ factor', () => {
  // long enough for several of the native kernel's fixed chunks, with a ragged end
  const x = randomArray(10_007, 9, 3);
  let expected = 0;
  for (const value of x) expected += value * value;
  // summed in float64 (any fixed order): float32 accumulation would miss by about 1e-4 here
  assertClose([sumOfSquares(x, x.length)], [expected], 'sum of squares', { abs: 0, rel: 1e-13 });
  assert.equal(sumOfSquares(x, 0), 0);
  assert.equal(clipScale(0.5, 1), 1);
  assert.equal(clipScale(4, 1), 1 / (4 + 1e-6));
  assert.equal(clipScale(0, 1), 1);
});
