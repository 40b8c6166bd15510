import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import './backend-from-environment.js';
import { allocFloat32, kernelAddress, kernelMemory, scratchAddress } from '../../src/tensor/kernel-memory.js';
import { matmul } from '../../src/tensor/index.js';

test('allocations are zero-filled, cache-line aligned, disjoint and recognised as kernel memory', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 20 }), (lengths) => {
      const views = lengths.map((length) => allocFloat32(length));
      const ranges = views.map((view) => [view.byteOffset, view.byteOffset + view.byteLength] as const);
      for (const [index, view] of views.entries()) {
        assert.equal(view.length, lengths[index]);
        assert.equal(view.byteOffset % 64, 0);
        assert.ok(view.every((value) => value === 0));
        assert.equal(kernelAddress(view), view.byteOffset);
        view.fill(index + 1);
      }
      // writing each view left every other view untouched
      for (const [index, view] of views.entries()) assert.ok(view.every((value) => value === index + 1));
      const sorted = [...ranges].sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i - 1]![1] <= sorted[i]![0]);
    }),
    { numRuns: 30 },
  );
});

test('allocFloat32 refuses a length that is not a non-negative integer', () => {
  assert.throws(() => allocFloat32(-1), { name: 'RangeError', message: /non-negative integer, got -1/ });
  assert.throws(() => allocFloat32(1.5), { name: 'RangeError', message: /got 1.5/ });
});

test('arrays outside kernel memory, including other shared buffers, are not mistaken for it', () => {
  assert.equal(kernelAddress(new Float32Array(8)), -1);
  assert.equal(kernelAddress(new Float32Array(new SharedArrayBuffer(64))), -1);
  assert.equal(kernelAddress(allocFloat32(8).slice()), -1);
});

test('growing the memory keeps every earlier view valid, and matmul still works on them in place', () => {
  const M = 5;
  const K = 6;
  const a = allocFloat32(M * K); // [M, K]
  a.forEach((_, index) => (a[index] = index - 7));
  const identity = allocFloat32(K * K); // [K, K]
  for (let i = 0; i < K; i++) identity[i * K + i] = 1;
  const out = allocFloat32(M * K); // [M, K]
  const bytesBefore = kernelMemory().buffer.byteLength;
  const large = allocFloat32(24 * 1024 * 1024); // 96 MiB, more than any growth step leaves spare
  assert.ok(kernelMemory().buffer.byteLength > bytesBefore, 'the memory grew');
  assert.notEqual(a.buffer, large.buffer, 'views made before and after growth sit on different buffer objects');
  assert.equal(a.length, M * K);
  assert.equal(a[M * K - 1], M * K - 1 - 7);
  assert.equal(kernelAddress(a), a.byteOffset);
  matmul(out, a, identity, M, K, K);
  assert.deepEqual(out, a, 'A·I = A, computed in place through views from before the growth');
  large[large.length - 1] = 3;
  assert.equal(large[large.length - 1], 3);
});

test('the scratch region is reused while it is big enough and replaced by a larger one when not', () => {
  const first = scratchAddress(1000);
  assert.equal(scratchAddress(10), first);
  assert.equal(scratchAddress(1000), first);
  const larger = scratchAddress(8_000_000);
  const keep = allocFloat32(4);
  // a view allocated after the scratch must never be handed out as scratch
  assert.ok(keep.byteOffset >= larger + 8_000_000 || keep.byteOffset + keep.byteLength <= larger);
  assert.equal(scratchAddress(8_000_000), larger);
});
