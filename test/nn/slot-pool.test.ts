import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AllocationShape, Workspace } from '../../src/nn/buffers.js';
import { SlotPool } from '../../src/nn/slot-pool.js';

test('a pool reuses released records across steps and allocates only for more slots in flight', () => {
  const pool = new SlotPool('unit', 'stash', (B, T) => ({ x: B * T, ids: { int32: T } }), 16);
  const seen = new Set<Float32Array>();
  for (let step = 0; step < 5; step++) {
    for (const slot of [0, 1, 2]) seen.add(pool.acquire(slot, 2, 16).buffers.x);
    assert.equal(pool.liveBytes(), 3 * pool.bytesPerSlot(2, 16));
    for (const slot of [2, 0, 1]) pool.release(slot);
  }
  assert.equal(seen.size, 3, 'three records, allocated in the first step');
  assert.equal(pool.liveBytes(), 0);
});

test('a sequence growing one token at a time allocates O(log T) times, never beyond the block size', () => {
  const maxT = 100;
  const pool = new SlotPool('unit', 'stash', (B, T) => ({ x: B * T * T }), maxT);
  const seen = new Set<Float32Array>();
  for (let T = 1; T <= maxT; T++) {
    const record = pool.acquire(0, 1, T);
    seen.add(record.buffers.x);
    assert.ok(record.buffers.x.length >= T * T);
    pool.release(0);
  }
  assert.ok(seen.size <= 8, `${seen.size} allocations`);
  assert.ok([...seen].every((x) => x.length <= maxT * maxT), 'no record beyond the block size');
  const workspace = new Workspace((B, T) => ({ out: B * T }), maxT);
  const buffers = new Set<Float32Array>();
  for (let T = 1; T <= maxT; T++) buffers.add(workspace.get(1, T).out);
  assert.ok(buffers.size <= 8, `${buffers.size} workspace allocations`);
});

test('allocation shapes double the dimension that grew, cap T at the block size, and start exact', () => {
  const shape = new AllocationShape(128);
  assert.deepEqual(shape.grow(4, 128), { B: 4, T: 128 });
  assert.deepEqual(shape.grow(5, 128), { B: 8, T: 128 });
  const sampling = new AllocationShape(128);
  assert.deepEqual(sampling.grow(1, 1), { B: 1, T: 1 });
  assert.deepEqual(sampling.grow(1, 2), { B: 1, T: 2 });
  assert.deepEqual(sampling.grow(1, 3), { B: 1, T: 4 });
  assert.deepEqual(sampling.grow(1, 100), { B: 1, T: 100 });
  assert.deepEqual(sampling.grow(1, 101), { B: 1, T: 128 });
});
