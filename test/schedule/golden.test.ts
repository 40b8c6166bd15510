// Per-rank orders written out by hand from the published definitions, not produced by the generators.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import { formatOrders, generateSchedule, validateSchedule, type ScheduleName } from '../../src/schedule/index.js';

function orders(name: ScheduleName, ranks: number, microbatches: number, chunks?: number): string[] {
  const schedule = generateSchedule(name, { ranks, microbatches, chunks });
  validateSchedule(schedule);
  return formatOrders(schedule);
}

test('1f1b p=4 m=8 follows PipeDream-Flush: p-r-1 warm-up forwards, one forward one backward, cool-down', () => {
  assert.deepEqual(orders('1f1b', 4, 8), [
    '0F0 0F1 0F2 0F3 0B0 0F4 0B1 0F5 0B2 0F6 0B3 0F7 0B4 0B5 0B6 0B7',
    '1F0 1F1 1F2 1B0 1F3 1B1 1F4 1B2 1F5 1B3 1F6 1B4 1F7 1B5 1B6 1B7',
    '2F0 2F1 2B0 2F2 2B1 2F3 2B2 2F4 2B3 2F5 2B4 2F6 2B5 2F7 2B6 2B7',
    '3F0 3B0 3F1 3B1 3F2 3B2 3F3 3B3 3F4 3B4 3F5 3B5 3F6 3B6 3F7 3B7',
  ]);
});

test('1f1b with fewer micro-batches than ranks warms up with what there is', () => {
  assert.deepEqual(orders('1f1b', 3, 1), ['0F0 0B0', '1F0 1B0', '2F0 2B0']);
});

test('gpipe p=2 m=3: all forwards, then all backwards in micro-batch order (as PyTorch ScheduleGPipe)', () => {
  assert.deepEqual(orders('gpipe', 2, 3), ['0F0 0F1 0F2 0B0 0B1 0B2', '1F0 1F1 1F2 1B0 1B1 1B2']);
});

test('naive p=2 m=2: each micro-batch forward and back before the next', () => {
  assert.deepEqual(orders('naive', 2, 2), ['0F0 0B0 0F1 0B1', '1F0 1B0 1F1 1B1']);
});

test('interleaved-1f1b p=2 m=4 v=2 follows Megatron: groups of p micro-batches per chunk, warm-up 2(p-r-1)+(v-1)p', () => {
  // Rank 0 holds stages 0 and 2, rank 1 holds 1 and 3; warm-up 4 on rank 0, 2 on rank 1.
  assert.deepEqual(orders('interleaved-1f1b', 2, 4, 2), [
    '0F0 0F1 2F0 2F1 0F2 2B0 0F3 2B1 2F2 0B0 2F3 0B1 2B2 2B3 0B2 0B3',
    '1F0 1F1 3F0 3B0 3F1 3B1 1F2 1B0 1F3 1B1 3F2 3B2 3F3 3B3 1B2 1B3',
  ]);
});

test('zb-h1 p=3 m=4: 1F1B with I in place of B, and rank r runs W of micro-batch j-r after I of j', () => {
  assert.deepEqual(orders('zb-h1', 3, 4), [
    '0F0 0F1 0F2 0I0 0W0 0F3 0I1 0W1 0I2 0W2 0I3 0W3',
    '1F0 1F1 1I0 1F2 1I1 1W0 1F3 1I2 1W1 1I3 1W2 1W3',
    '2F0 2I0 2F1 2I1 2F2 2I2 2W0 2F3 2I3 2W1 2W2 2W3',
  ]);
});

test('zb-v p=2 m=3: V placement (rank 0 holds stages 0 and 3) and the paper\'s warm-up, steady and cool-down phases', () => {
  const schedule = generateSchedule('zb-v', { ranks: 2, microbatches: 3 });
  assert.deepEqual(schedule.placement, [0, 1, 1, 0]);
  assert.deepEqual(orders('zb-v', 2, 3), [
    '0F0 0F1 0F2 3F0 3I0 3W0 3F1 3I1 3W1 0I0 0W0 3F2 3I2 3W2 0I1 0W1 0I2 0W2',
    '1F0 2F0 1F1 2F1 2I0 2W0 1F2 1I0 1W0 2F2 2I1 2W1 1I1 2I2 1I2 1W1 2W2 1W2',
  ]);
});

test('preconditions are refused naming the rule and what would satisfy it', () => {
  const refusals: [ScheduleName, number, number, number | undefined, RegExp][] = [
    ['interleaved-1f1b', 4, 10, 2, /needs micro-batches divisible by ranks \(got microbatches 10, ranks 4\); use a multiple of 4 such as 8 or 12/],
    ['interleaved-1f1b', 4, 8, 1, /needs 2 or more chunks per rank \(got 1\)/],
    ['zb-v', 4, 8, 3, /zb-v places exactly 2 chunks per rank \(got 3\); use chunks 2/],
    ['gpipe', 4, 8, 2, /gpipe runs one chunk per rank \(got 2\)/],
    ['1f1b', 0, 8, undefined, /ranks must be a positive integer \(got 0\)/],
    ['1f1b', 4, 2.5, undefined, /microbatches must be a positive integer \(got 2\.5\)/],
    ['1f1b', 4096, 4096, undefined, /has 33554432 actions; at most 4194304 fit in memory/],
  ];
  for (const [name, ranks, microbatches, chunks, expected] of refusals) {
    assert.throws(() => generateSchedule(name, { ranks, microbatches, chunks }), (error: unknown) => error instanceof UsageError && expected.test(error.message), name);
  }
  assert.throws(() => generateSchedule('pipedream' as ScheduleName, { ranks: 2, microbatches: 2 }), /unknown schedule 'pipedream'; accepted: naive, gpipe, 1f1b, interleaved-1f1b, zb-h1, zb-h2, zb-v, dualpipe-v/);
});
