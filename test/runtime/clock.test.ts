import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clockOffset } from '../../src/runtime/clock.js';

test('a symmetric round trip recovers the offset exactly; the shortest round trip wins', () => {
  // rank clock = driver clock + 5; 0.1 s each way, 0.01 s on the rank
  const exact = { sentAt: 100, receivedAt: 105.1, repliedAt: 105.11, returnedAt: 100.21 };
  const slow = { sentAt: 200, receivedAt: 207, repliedAt: 207.01, returnedAt: 201.01 };
  const estimate = clockOffset([slow, exact]);
  assert.ok(Math.abs(estimate.offset - 5) < 1e-9);
  assert.ok(Math.abs(estimate.roundTrip - 0.2) < 1e-9);
});

test('whatever the delays, the error is at most half the round trip', () => {
  fc.assert(
    fc.property(fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (offset, there, back) => {
      const sample = { sentAt: 1000, receivedAt: 1000 + there + offset, repliedAt: 1000 + there + offset + 0.001, returnedAt: 1000 + there + 0.001 + back };
      const estimate = clockOffset([sample]);
      assert.ok(Math.abs(estimate.offset - offset) <= estimate.roundTrip / 2 + 1e-9);
    }),
  );
});
