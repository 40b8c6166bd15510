import { test } from 'node:test';
import fc from 'fast-check';
import '../backend-from-environment.js';
import { attentionBackward, attentionForward, attentionScratchLayout } from '../../../src/tensor/index.js';
import { assertClose, dot, maxAbs, numericGradient, randomArray, toFloat64 } from './helpers.js';
import { referenceAttention } from './reference.js';

const shapes = fc.record({
  B: fc.integer({ min: 1, max: 3 }),
  T: fc.integer({ min: 1, max: 9 }),
  NH: fc.integer({ min: 1, max: 3 }),
  headSize: fc.integer({ min: 1, max: 5 }),
  seed: fc.nat(),
});

function scratchFor(T: number, headSize: number) {
  const layout = attentionScratchLayout(T, headSize);
  return {
    headRows: new Float32Array(layout.headRows),
    headRowsGrad: new Float32Array(layout.headRowsGrad),
    scoresGrad: new Float32Array(layout.scoresGrad),
  };
}

function run(B: number, T: number, NH: number, headSize: number, seed: number) {
  const C = NH * headSize;
  const qkv = randomArray(B * T * 3 * C, seed, 1.5);
  const y = new Float32Array(B * T * C);
  const qkvHeads = new Float32Array(3 * B * T * C);
  const att = new Float32Array(B * NH * T * T);
  const scratch = scratchFor(T, headSize);
  attentionForward(y, qkvHeads, att, qkv, scratch, B, T, C, NH);
  return { C, qkv, y, qkvHeads, att, scratch };
}

test('causal attention forward matches a naive float64 loop on ragged shapes', () => {
  fc.assert(
    fc.property(shapes, ({ B, T, NH, headSize, seed }) => {
      const { C, qkv, y, att } = run(B, T, NH, headSize, seed);
      assertClose(y, referenceAttention(qkv, B, T, C, NH), 'y', { abs: 1e-5, rel: 1e-5 });
      // Nothing may attend to the future.
      for (let row = 0; row < B * NH * T; row++) {
        for (let s = (row % T) + 1; s < T; s++) if (att[row * T + s] !== 0) throw new Error(`att[${row},${s}] is not masked`);
      }
    }),
    { numRuns: 50 },
  );
});

test('causal attention backward matches finite differences of the float64 loop', () => {
  fc.assert(
    fc.property(shapes, ({ B, T, NH, headSize, seed }) => {
      const { C, qkv, qkvHeads, att, scratch } = run(B, T, NH, headSize, seed);
      const dy = randomArray(B * T * C, seed + 1);
      const dqkv = new Float32Array(B * T * 3 * C).fill(7); // overwritten, not accumulated
      attentionBackward(dqkv, dy, qkvHeads, att, scratch, B, T, C, NH);
      const qkv64 = toFloat64(qkv);
      const expected = numericGradient(() => dot(dy, referenceAttention(qkv64, B, T, C, NH)), qkv64);
      assertClose(dqkv, expected, 'dqkv', { abs: 2e-5 * (1 + maxAbs(expected)), rel: 1e-4 });
    }),
    { numRuns: 30 },
  );
});
