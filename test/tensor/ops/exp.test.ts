import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fastExp } from '../../../src/tensor/ops/exp.js';

test('fastExp agrees with Math.exp to 1e-9 relative over the whole finite range', () => {
  fc.assert(
    fc.property(fc.double({ min: -745, max: 709.7, noNaN: true }), (x) => {
      const expected = Math.exp(x);
      const actual = fastExp(x);
      if (expected === 0) assert.equal(actual, 0);
      else assert.ok(Math.abs(actual - expected) <= 1e-9 * expected, `exp(${x}) = ${actual}, expected ${expected}`);
    }),
    { numRuns: 5000 },
  );
});

test('fastExp at the edges: 0, overflow, underflow, infinities and NaN', () => {
  assert.equal(fastExp(0), 1);
  assert.equal(fastExp(710), Infinity);
  assert.equal(fastExp(Infinity), Infinity);
  assert.equal(fastExp(-Infinity), 0);
  assert.equal(fastExp(-800), 0);
  assert.ok(Number.isNaN(fastExp(NaN)));
  assert.ok(Math.abs(fastExp(1) - Math.E) <= 1e-9 * Math.E);
});
