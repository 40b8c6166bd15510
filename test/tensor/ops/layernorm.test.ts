import { test } from 'node:test';
import fc from 'fast-check';
import '../backend-from-environment.js';
import { layerNormBackwardInput, layerNormBackwardWeight, layerNormForward } from '../../../src/tensor/index.js';
import { assertClose, dot, maxAbs, numericGradient, randomArray, toFloat64 } from './helpers.js';
import { referenceLayerNorm } from './reference.js';

const shapes = fc.record({ N: fc.integer({ min: 1, max: 7 }), C: fc.integer({ min: 1, max: 19 }), seed: fc.nat() });

function setup(N: number, C: number, seed: number) {
  const x = randomArray(N * C, seed, 2);
  const weight = randomArray(C, seed + 1, 1.5);
  const bias = randomArray(C, seed + 2);
  const dout = randomArray(N * C, seed + 3);
  const out = new Float32Array(N * C);
  const mean = new Float32Array(N);
  const rstd = new Float32Array(N);
  layerNormForward(out, mean, rstd, x, weight, bias, N, C);
  return { x, weight, bias, dout, out, mean, rstd };
}

test('layer norm forward matches the float64 formula on ragged shapes', () => {
  fc.assert(
    fc.property(shapes, ({ N, C, seed }) => {
      const { x, weight, bias, out } = setup(N, C, seed);
      assertClose(out, referenceLayerNorm(x, weight, bias, N, C), 'out', { abs: 2e-5, rel: 2e-5 });
    }),
    { numRuns: 60 },
  );
});

test('layer norm backward (input and weight) matches finite differences of the float64 formula', () => {
  fc.assert(
    fc.property(shapes, ({ N, C, seed }) => {
      const { x, weight, bias, dout, mean, rstd } = setup(N, C, seed);
      const x64 = toFloat64(x);
      const w64 = toFloat64(weight);
      const b64 = toFloat64(bias);
      const loss = () => dot(dout, referenceLayerNorm(x64, w64, b64, N, C));
      // Start from nonzero gradients: both halves accumulate.
      const initialInput = randomArray(N * C, seed + 4);
      const dinp = initialInput.slice();
      layerNormBackwardInput(dinp, dout, x, weight, mean, rstd, N, C);
      const expectedInput = numericGradient(loss, x64).map((g, i) => g + initialInput[i]!);
      assertClose(dinp, expectedInput, 'dx', { abs: 1e-4 * (1 + maxAbs(expectedInput)), rel: 1e-4 });
      const dweight = new Float32Array(C).fill(0.5);
      const dbias = new Float32Array(C).fill(-0.25);
      layerNormBackwardWeight(dweight, dbias, dout, x, mean, rstd, N, C);
      assertClose(dweight, numericGradient(loss, w64).map((g) => g + 0.5), 'dweight', { abs: 1e-4, rel: 1e-4 });
      assertClose(dbias, numericGradient(loss, b64).map((g) => g - 0.25), 'dbias', { abs: 1e-4, rel: 1e-4 });
    }),
    { numRuns: 30 },
  );
});
