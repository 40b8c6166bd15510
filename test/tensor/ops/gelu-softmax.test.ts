import { test } from 'node:test';
import fc from 'fast-check';
import '../backend-from-environment.js';
import { geluBackward, geluForward, softmaxBackward, softmaxForward } from '../../../src/tensor/index.js';
import { assertClose, dot, numericGradient, randomArray, toFloat64 } from './helpers.js';
import { referenceGelu, referenceSoftmax } from './reference.js';

test('GELU forward is the tanh formula, its derivative matches finite differences, and the backward applies it', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 50 }), fc.nat(), (n, seed) => {
      const x = randomArray(n, seed, 5);
      const dout = randomArray(n, seed + 1);
      const out = new Float32Array(n);
      const derivative = x.slice(); // in place over the pre-activation, as the MLP stashes it
      geluForward(out, derivative, derivative, n);
      assertClose(out, referenceGelu(x), 'gelu', { abs: 1e-6, rel: 1e-6 });
      const x64 = toFloat64(x);
      const expected = numericGradient(() => dot(dout, referenceGelu(x64)), x64);
      const dinp = dout.slice(); // in place, as the MLP uses it
      geluBackward(dinp, derivative, dinp, n);
      assertClose(dinp, expected, 'dgelu', { abs: 1e-5, rel: 1e-5 });
    }),
    { numRuns: 40 },
  );
});

const softmaxCases = fc.record({
  causal: fc.boolean(),
  blocks: fc.integer({ min: 1, max: 3 }),
  cols: fc.integer({ min: 1, max: 13 }),
  rows: fc.integer({ min: 1, max: 5 }),
  scale: fc.double({ min: 0.1, max: 2, noNaN: true }),
  seed: fc.nat(),
});

test('softmax forward (plain and causal, scaled) matches exp/sum, in place', () => {
  fc.assert(
    fc.property(softmaxCases, ({ causal, blocks, cols, rows, scale, seed }) => {
      const rowCount = causal ? blocks * cols : rows; // causal rows come in square blocks
      const x = randomArray(rowCount * cols, seed, 4);
      const out = x.slice();
      softmaxForward(out, out, rowCount, cols, scale, causal);
      assertClose(out, referenceSoftmax(x, rowCount, cols, scale, causal), 'softmax', { abs: 1e-6, rel: 1e-5 });
    }),
    { numRuns: 60 },
  );
});

test('softmax backward matches finite differences (masked entries get 0)', () => {
  fc.assert(
    fc.property(softmaxCases, ({ causal, blocks, cols, rows, scale, seed }) => {
      const rowCount = causal ? blocks * cols : rows;
      const x = randomArray(rowCount * cols, seed, 3);
      const dout = randomArray(rowCount * cols, seed + 1);
      const out = new Float32Array(x.length);
      softmaxForward(out, x, rowCount, cols, scale, causal);
      const x64 = toFloat64(x);
      const expected = numericGradient(() => dot(dout, referenceSoftmax(x64, rowCount, cols, scale, causal)), x64);
      const dinp = dout.slice();
      softmaxBackward(dinp, out, dinp, rowCount, cols, scale, causal);
      assertClose(dinp, expected, 'dsoftmax', { abs: 1e-5, rel: 1e-4 });
    }),
    { numRuns: 40 },
  );
});
