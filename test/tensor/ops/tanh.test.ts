import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fastTanh } from '../../../src/tensor/ops/tanh.js';

test('fastTanh is within 2e-10 relative of Math.tanh below 10, within 5e-9 (float32 sees 1) beyond, and odd', () => {
  let worstRational = 0;
  let worstSaturated = 0;
  for (let i = 1; i <= 200000; i++) {
    const u = i * 6e-5; // (0, 12]
    const expected = Math.tanh(u);
    const error = Math.abs(fastTanh(u) - expected) / expected;
    if (u < 10) worstRational = Math.max(worstRational, error);
    else worstSaturated = Math.max(worstSaturated, error);
    assert.equal(fastTanh(-u), -fastTanh(u));
  }
  assert.ok(worstRational < 2e-10, `worst relative error below 10: ${worstRational}`);
  assert.ok(worstSaturated < 5e-9, `worst relative error from 10: ${worstSaturated}`);
  assert.equal(Math.fround(Math.tanh(10)), 1, 'float32 cannot tell tanh(10) from 1');
});

test('fastTanh keeps tiny arguments exact to relative precision and saturates at ±1', () => {
  fc.assert(
    fc.property(fc.double({ min: 1e-300, max: 1e-3, noNaN: true }), (u) => {
      assert.ok(Math.abs(fastTanh(u) - Math.tanh(u)) <= 2e-10 * Math.tanh(u));
    }),
  );
  assert.equal(fastTanh(0), 0);
  assert.equal(fastTanh(50), 1);
  assert.equal(fastTanh(-Infinity), -1);
});
