import { test } from 'node:test';
import fc from 'fast-check';
import '../backend-from-environment.js';
import { biasBackward, fillRowsWithBias, crossEntropyBackward, crossEntropyForward, embeddingBackward, embeddingForward, residualForward } from '../../../src/tensor/index.js';
import { assertClose, dot, numericGradient, randomArray, randomIds, toFloat64 } from './helpers.js';
import { referenceCrossEntropy, referenceEmbedding, referenceSoftmax } from './reference.js';

const embeddingShapes = fc.record({
  B: fc.integer({ min: 1, max: 3 }),
  T: fc.integer({ min: 1, max: 6 }),
  C: fc.integer({ min: 1, max: 7 }),
  V: fc.integer({ min: 1, max: 9 }),
  extraPositions: fc.integer({ min: 0, max: 3 }),
  seed: fc.nat(),
});

test('embedding forward is wte[token] + wpe[t]; its scatter-add backward matches finite differences', () => {
  fc.assert(
    fc.property(embeddingShapes, ({ B, T, C, V, extraPositions, seed }) => {
      const positions = T + extraPositions; // wpe may have more rows than the sequence uses
      const tokens = randomIds(B * T, V, seed); // small V makes repeated tokens, the scatter-add's hard case
      const wte = randomArray(V * C, seed + 1);
      const wpe = randomArray(positions * C, seed + 2);
      const out = new Float32Array(B * T * C);
      embeddingForward(out, tokens, wte, wpe, B, T, C);
      assertClose(out, referenceEmbedding(tokens, wte, wpe, B, T, C), 'embedding', { abs: 1e-6, rel: 1e-6 });
      const dout = randomArray(B * T * C, seed + 3);
      const dwte = new Float32Array(V * C).fill(1);
      const dwpe = new Float32Array(positions * C).fill(-1);
      embeddingBackward(dwte, dwpe, dout, tokens, B, T, C);
      const wte64 = toFloat64(wte);
      const wpe64 = toFloat64(wpe);
      const loss = () => dot(dout, referenceEmbedding(tokens, wte64, wpe64, B, T, C));
      assertClose(dwte, numericGradient(loss, wte64).map((g) => g + 1), 'dwte', { abs: 1e-5 });
      assertClose(dwpe, numericGradient(loss, wpe64).map((g) => g - 1), 'dwpe', { abs: 1e-5 });
    }),
    { numRuns: 50 },
  );
});

test('cross-entropy returns the mean -log softmax[target]; its backward matches finite differences', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 17 }),
      fc.double({ min: 0.1, max: 3, noNaN: true }),
      fc.nat(),
      (N, V, scale, seed) => {
        const logits = randomArray(N * V, seed, 4);
        const targets = randomIds(N, V, seed + 1);
        const probs = logits.slice(); // in place, as the head uses it
        const loss = crossEntropyForward(probs, probs, targets, N, V);
        assertClose([loss], [referenceCrossEntropy(logits, targets, N, V)], 'loss', { abs: 1e-6, rel: 1e-6 });
        assertClose(probs, referenceSoftmax(logits, N, V, 1, false), 'probs', { abs: 1e-6, rel: 1e-5 });
        crossEntropyBackward(probs, probs, targets, N, V, scale / N);
        const logits64 = toFloat64(logits);
        const expected = numericGradient(() => scale * referenceCrossEntropy(logits64, targets, N, V), logits64);
        assertClose(probs, expected, 'dlogits', { abs: 1e-6, rel: 1e-4 });
      },
    ),
    { numRuns: 50 },
  );
});

test('cross-entropy stays finite when a target is far below the row maximum', () => {
  const logits = new Float32Array([200, -200, 0]);
  const loss = crossEntropyForward(new Float32Array(3), logits, new Int32Array([1]), 1, 3);
  assertClose([loss], [400], 'loss', { abs: 1e-9 });
});

test('residual add, bias rows and bias backward match elementwise references', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 11 }), fc.nat(), (N, C, seed) => {
      const a = randomArray(N * C, seed);
      const b = randomArray(N * C, seed + 1);
      const sum = new Float32Array(N * C);
      residualForward(sum, a, b, N * C);
      assertClose(sum, Array.from(a, (v, i) => Math.fround(v + b[i]!)), 'residual', { abs: 0, rel: 0 });
      const bias = randomArray(C, seed + 2);
      const out = a.slice();
      fillRowsWithBias(out, bias, N, C);
      assertClose(out, Array.from(a, (_, i) => bias[i % C]!), 'bias rows', { abs: 0, rel: 0 });
      const dbias = new Float32Array(C).fill(2);
      biasBackward(dbias, b, N, C);
      const columnSums = Array.from({ length: C }, (_, c) => {
        let total = 2;
        for (let n = 0; n < N; n++) total += b[n * C + c]!;
        return total;
      });
      assertClose(dbias, columnSums, 'dbias', { abs: 1e-6 });
    }),
    { numRuns: 40 },
  );
});
