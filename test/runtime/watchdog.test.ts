import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Watchdog } from '../../src/runtime/watchdog.js';
import type { Progress } from '../../src/runtime/protocol.js';

const at = (step: number, kind: 'F' | 'B', stage: number, microbatch: number, waiting: boolean, finished: number): Progress => ({
  phase: 'step',
  step,
  action: { kind, stage, microbatch },
  waiting,
  finished,
});

test('the stall limit follows the measured actions: 30 s before any, then 10 × the slowest, at least 5 s', () => {
  const watchdog = new Watchdog(2, 0);
  assert.equal(watchdog.limitSeconds(), 30);
  watchdog.measured(0.02);
  assert.equal(watchdog.limitSeconds(), 5);
  watchdog.measured(2);
  assert.equal(watchdog.limitSeconds(), 20);
  assert.equal(new Watchdog(2, 0, 3).limitSeconds(), 3, 'CONVEYOR_STALL_SECONDS wins');
});

test('the rank stuck inside an action is blamed, not the ranks waiting for it', () => {
  const watchdog = new Watchdog(3, 0, 2);
  watchdog.heard(0, 100, at(2, 'B', 0, 0, true, 10));
  watchdog.heard(1, 100, at(2, 'F', 1, 1, false, 11));
  watchdog.heard(2, 100, at(2, 'F', 2, 1, true, 9));
  watchdog.reset(100);
  assert.equal(watchdog.check(1000), undefined);
  // heartbeats keep coming, but nothing finishes
  for (const rank of [0, 1, 2]) watchdog.heard(rank, 2000);
  const stall = watchdog.check(2100)!;
  assert.equal(stall.rank, 1);
  assert.equal(stall.where, 'step 2, stage 1, F micro-batch 1');
  assert.equal(
    stall.message,
    'stopped making progress: no rank finished an action for 2 s (rank 0: step 2, stage 0, waiting for the input of B micro-batch 0; rank 2: step 2, stage 2, waiting for the input of F micro-batch 1)',
  );
});

test('when every rank waits, the one that went silent is blamed', () => {
  const watchdog = new Watchdog(2, 0, 5);
  watchdog.heard(0, 0, at(1, 'F', 0, 0, true, 3));
  watchdog.heard(1, 0, at(1, 'B', 1, 0, true, 3));
  watchdog.reset(0);
  watchdog.heard(0, 5000);
  const stall = watchdog.check(5500)!;
  assert.equal(stall.rank, 1);
  assert.match(stall.message, /^stopped making progress, not heard from for 6 s: /);
});

test('a finished action anywhere restarts the clock', () => {
  const watchdog = new Watchdog(2, 0, 2);
  watchdog.heard(0, 0, at(1, 'F', 0, 0, false, 1));
  watchdog.reset(0);
  watchdog.heard(0, 1900, at(1, 'F', 0, 1, false, 2));
  assert.equal(watchdog.check(1950), undefined);
  assert.equal(watchdog.check(3000), undefined);
  assert.ok(watchdog.check(4000));
});
