import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import './backend-from-environment.js';
import { allocFloat32, matmul, type MatmulOptions } from '../../src/tensor/index.js';

const forms: readonly { readonly name: string; readonly options: MatmulOptions }[] = [
  { name: 'A·B', options: {} },
  { name: 'A·Bᵀ', options: { transB: true } },
  { name: 'Aᵀ·B', options: { transA: true } },
  { name: 'Aᵀ·Bᵀ', options: { transA: true, transB: true } },
];

/** Deterministic values in [-1, 1) from a seed (mulberry32), so a failing shape can be replayed. */
function randomArray(length: number, seed: number, inKernelMemory = false): Float32Array {
  const array = inKernelMemory ? allocFloat32(length) : new Float32Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    array[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return array;
}

/**
 * The float64 reference out = initial + op(a)·op(b), with Σ|terms| per element for the error bound.
 * a is [M,K] ([K,M] when transA), b is [K,N] ([N,K] when transB).
 */
function reference(a: Float32Array, b: Float32Array, M: number, K: number, N: number, options: MatmulOptions, initial?: Float32Array) {
  const expected = new Float64Array(M * N);
  const magnitude = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = initial ? initial[i * N + j]! : 0;
      let size = Math.abs(sum);
      for (let k = 0; k < K; k++) {
        const aik = options.transA ? a[k * M + i]! : a[i * K + k]!;
        const bkj = options.transB ? b[j * K + k]! : b[k * N + j]!;
        sum += aik * bkj;
        size += Math.abs(aik * bkj);
      }
      expected[i * N + j] = sum;
      magnitude[i * N + j] = size;
    }
  }
  return { expected, magnitude };
}

/** Float32 sums of K+1 terms in any order stay within (K+2)·2⁻²³·Σ|terms| of the exact sum. */
function assertMatches(actual: Float32Array, want: ReturnType<typeof reference>, K: number, context: string): void {
  for (let index = 0; index < want.expected.length; index++) {
    const error = Math.abs(actual[index]! - want.expected[index]!);
    const bound = (K + 2) * 2 ** -23 * want.magnitude[index]! + 1e-30;
    if (!(error <= bound)) {
      assert.fail(`${context}: element ${index} is ${actual[index]}, expected ${want.expected[index]} (error ${error} > ${bound})`);
    }
  }
}

const smallShape = fc.record({
  M: fc.integer({ min: 1, max: 37 }),
  K: fc.integer({ min: 1, max: 37 }),
  N: fc.integer({ min: 1, max: 37 }),
  seed: fc.integer(),
});

for (const form of forms) {
  test(`${form.name} matches the float64 reference on random shapes, ragged ones included`, () => {
    fc.assert(
      fc.property(smallShape, ({ M, K, N, seed }) => {
        const a = randomArray(M * K, seed);
        const b = randomArray(K * N, seed + 1);
        const out = randomArray(M * N, seed + 2); // stale contents must be overwritten
        matmul(out, a, b, M, K, N, form.options);
        assertMatches(out, reference(a, b, M, K, N, form.options), K, `${form.name} ${M}x${K}x${N}`);
      }),
      { numRuns: 150 },
    );
  });

  test(`${form.name} with accumulate adds the product to what out held`, () => {
    fc.assert(
      fc.property(smallShape, ({ M, K, N, seed }) => {
        const a = randomArray(M * K, seed, true);
        const b = randomArray(K * N, seed + 1, true);
        const initial = randomArray(M * N, seed + 2);
        const out = allocFloat32(M * N);
        out.set(initial);
        matmul(out, a, b, M, K, N, { ...form.options, accumulate: true });
        assertMatches(out, reference(a, b, M, K, N, form.options, initial), K, `${form.name} accumulate ${M}x${K}x${N}`);
      }),
      { numRuns: 60 },
    );
  });
}

/** One larger shape in every form against the reference, onto stale contents or accumulated onto them. */
function checkEveryForm(M: number, K: number, N: number, seed: number, accumulate: boolean): void {
  const a = randomArray(M * K, seed, true);
  const b = randomArray(K * N, seed + 1, true);
  const initial = randomArray(M * N, seed + 2);
  const out = allocFloat32(M * N);
  for (const form of forms) {
    out.set(initial);
    matmul(out, a, b, M, K, N, { ...form.options, accumulate });
    assertMatches(out, reference(a, b, M, K, N, form.options, accumulate ? initial : undefined), K, `${form.name} ${M}x${K}x${N}`);
  }
}

test('shapes larger than every cache block (ragged in M, K and N) match the reference in all forms', () => {
  // the kernel blocks by 128 rows, 512 k-steps and 1024 columns: go past each with a ragged remainder
  checkEveryForm(131, 517, 1029, 11, false);
});

test('a tall A against a small B (packed whole, for every k block at once, by the native kernel) matches the reference in all forms, accumulate included', () => {
  // 700 k-steps in three blocks and 36 columns: all of B fits the native kernel's resident budget, and
  // the last 4 columns are dot products along k
  checkEveryForm(203, 700, 36, 31, true);
});

test('a short A (one row block: the 65 rows of the logits weight gradient) past the k block matches the reference in all forms, accumulate included', () => {
  // B fits the resident budget, but with one row block the native kernel's first tiles pack it, k block by k block
  checkEveryForm(65, 600, 256, 51, true);
});

test('columns past the native kernel column block (2048 wide) match the reference in all forms', () => {
  checkEveryForm(70, 300, 2100, 41, false);
});

test('a narrow product (65 and 70 columns; the logits have 65) past the k block with a ragged last panel matches the reference, accumulate included', () => {
  // few column panels: where A runs along k (A·B, A·Bᵀ) the native kernel reads it in place and takes a
  // last panel of up to 4 columns as dot products along k, a wider one (70 = 4 * 16 + 6) two micro-panels tall
  checkEveryForm(131, 517, 65, 21, true);
  checkEveryForm(131, 517, 70, 22, true);
});

test('every mix of arrays inside and outside kernel memory gives the same result, accumulate included', () => {
  const M = 19;
  const K = 23;
  const N = 29;
  for (const form of forms) {
    for (let placement = 0; placement < 8; placement++) {
      const a = randomArray(M * K, 1, (placement & 1) !== 0);
      const b = randomArray(K * N, 2, (placement & 2) !== 0);
      const initial = randomArray(M * N, 3);
      const out = (placement & 4) !== 0 ? allocFloat32(M * N) : new Float32Array(M * N);
      out.set(initial);
      matmul(out, a, b, M, K, N, { ...form.options, accumulate: true });
      assertMatches(out, reference(a, b, M, K, N, form.options, initial), K, `${form.name} placement ${placement}`);
    }
  }
});

test('views at any float offset inside kernel memory and longer-than-needed arrays are used as given', () => {
  const M = 6;
  const K = 5;
  const N = 9;
  const backing = allocFloat32(M * K + K * N + M * N + 10);
  const a = backing.subarray(1, 1 + M * K + 3); // 3 unused trailing elements
  const b = backing.subarray(2 + M * K + 3, 2 + M * K + 3 + K * N);
  const out = backing.subarray(backing.length - M * N - 1);
  a.set(randomArray(a.length, 7));
  b.set(randomArray(b.length, 8));
  const last = out[M * N]!;
  matmul(out, a, b, M, K, N);
  assertMatches(out, reference(a, b, M, K, N, {}), K, 'offset views');
  assert.equal(out[M * N], last, 'the element past M*N is left alone');
});

test('an empty K gives zeros, or leaves out unchanged when accumulating; empty M or N writes nothing', () => {
  const out = randomArray(12, 5, true);
  const initial = out.slice();
  matmul(out, new Float32Array(0), new Float32Array(0), 3, 0, 4, { accumulate: true });
  assert.deepEqual(out, initial);
  matmul(out, new Float32Array(0), new Float32Array(0), 3, 0, 4);
  assert.deepEqual(out, new Float32Array(12));
  const untouched = randomArray(4, 6);
  const before = untouched.slice();
  matmul(untouched, new Float32Array(0), randomArray(8, 1), 0, 2, 4);
  matmul(untouched, randomArray(6, 1), new Float32Array(0), 3, 2, 0);
  assert.deepEqual(untouched, before);
});

test('a and b may be the same array (a Gram matrix A·Aᵀ)', () => {
  const M = 13;
  const K = 21;
  const a = randomArray(M * K, 9, true);
  const out = allocFloat32(M * M);
  matmul(out, a, a, M, K, M, { transB: true });
  assertMatches(out, reference(a, a, M, K, M, { transB: true }), K, 'A·Aᵀ');
});

test('out overlapping a or b is refused, inside and outside kernel memory', () => {
  for (const inKernelMemory of [true, false]) {
    const buffer = randomArray(64, 4, inKernelMemory);
    const b = randomArray(16, 5);
    assert.throws(() => matmul(buffer, buffer, b, 4, 4, 4), { name: 'RangeError', message: /out overlaps a/ });
    assert.throws(() => matmul(buffer.subarray(8, 24), buffer.subarray(0, 16), b, 4, 4, 4), { name: 'RangeError', message: /out overlaps a/ });
    assert.throws(() => matmul(buffer.subarray(30, 46), b, buffer.subarray(40, 56), 4, 4, 4), { name: 'RangeError', message: /out overlaps b/ });
    // adjacent but disjoint ranges are fine
    matmul(buffer.subarray(16, 32), buffer.subarray(0, 16), buffer.subarray(32, 48), 4, 4, 4);
  }
});

test('bad dimensions and short arrays are refused with a message naming them', () => {
  const array = new Float32Array(16);
  assert.throws(() => matmul(array, array.slice(), array.slice(), -1, 4, 4), { name: 'RangeError', message: /M must be a non-negative integer, got -1/ });
  assert.throws(() => matmul(array, array.slice(), array.slice(), 4, 2.5, 4), { name: 'RangeError', message: /K must be a non-negative integer, got 2.5/ });
  assert.throws(() => matmul(array, array.slice(), array.slice(), 4, 4, Number.NaN), { name: 'RangeError', message: /N must be/ });
  assert.throws(() => matmul(array, new Float32Array(15), array.slice(), 4, 4, 4), { name: 'RangeError', message: /a holds 15 elements but its shape \[M=4, K=4\] needs 16/ });
  assert.throws(() => matmul(array, array.slice(), new Float32Array(15), 4, 4, 4, { transB: true }), { name: 'RangeError', message: /b holds 15 elements but its shape \[N=4, K=4\] needs 16/ });
  assert.throws(() => matmul(new Float32Array(15), array, array.slice(), 4, 4, 4), { name: 'RangeError', message: /out holds 15 elements/ });
});

test('a worker thread gets its own kernel memory and computes the same product; its views are copied here', async () => {
  const M = 7;
  const K = 33;
  const N = 10;
  const a = randomArray(M * K, 21);
  const b = randomArray(K * N, 22);
  const matmulUrl = new URL('../../src/tensor/index.js', import.meta.url).href;
  // the worker multiplies in its own kernel memory and posts the view (shared, not copied) back
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.matmulUrl).then(({ allocFloat32, configureKernels, kernelRequestFromEnvironment, matmul }) => {
      configureKernels(kernelRequestFromEnvironment(process.env)); // the backend under test, as in this thread
      const { M, K, N } = workerData;
      const a = allocFloat32(M * K); a.set(workerData.a);
      const b = allocFloat32(K * N); b.set(workerData.b);
      const out = allocFloat32(M * N);
      matmul(out, a, b, M, K, N, { transB: false });
      parentPort.postMessage({ out, a });
    });`;
  const worker = new Worker(source, { eval: true, workerData: { matmulUrl, M, K, N, a, b } });
  const reply = await new Promise<{ out: Float32Array; a: Float32Array }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assert.ok(reply.out.buffer instanceof SharedArrayBuffer);
  assertMatches(reply.out, reference(a, b, M, K, N, {}), K, 'worker');
  // the worker's memory is foreign to this thread's kernel: matmul must stage it, and still be right
  const here = allocFloat32(M * N);
  matmul(here, reply.a, b, M, K, N);
  assertMatches(here, reference(a, b, M, K, N, {}), K, 'foreign shared view');
});
