import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import { parseAction, validateSchedule, type Schedule } from '../../src/schedule/index.js';

/** A two-stage schedule on two ranks from per-rank token strings, built by hand without the parser. */
function twoRanks(rank0: string, rank1: string, microbatches = 2): Schedule {
  const order = [rank0, rank1].map((row) => row.split(' ').map(parseAction));
  return { name: 'hand', ranks: 2, stages: 2, microbatches, placement: [0, 1], order };
}

function refusal(schedule: Schedule): string {
  try {
    validateSchedule(schedule);
  } catch (error) {
    assert.ok(error instanceof UsageError, 'a broken schedule is the user\'s mistake');
    assert.equal(error.message.split('\n').length, 1);
    return error.message;
  }
  assert.fail('the validator accepted a broken schedule');
}

test('accepts a hand-written 1f1b', () => {
  validateSchedule(twoRanks('0F0 0F1 0B0 0B1', '1F0 1B0 1F1 1B1'));
});

test('a missing backward is named with what would complete it', () => {
  assert.match(refusal(twoRanks('0F0 0F1 0B0', '1F0 1B0 1F1 1B1')), /rank 0 never runs the backward of stage 0 micro-batch 1: add 0B1, or 0I1 and 0W1/);
});

test('an I without its W is refused', () => {
  assert.match(refusal(twoRanks('0F0 0F1 0I0 0W0 0I1', '1F0 1B0 1F1 1B1')), /rank 0 runs 0I1 but never 0W1/);
});

test('a forward run twice is refused', () => {
  assert.match(refusal(twoRanks('0F0 0F1 0F1 0B0 0B1', '1F0 1B0 1F1 1B1')), /0F1 computes the forward .* a second time/);
});

test('B and I for the same micro-batch are refused', () => {
  assert.match(refusal(twoRanks('0F0 0F1 0B0 0I0 0W0 0B1', '1F0 1B0 1F1 1B1')), /0I0 computes the input gradient .* second time/);
});

test('an action on a rank that does not own its stage is refused', () => {
  assert.match(refusal(twoRanks('0F0 0F1 0B0 0B1 1F0', '1B0 1F1 1B1')), /rank 0 runs 1F0, but stage 1 is placed on rank 1/);
});

test('micro-batch out of range is refused', () => {
  assert.match(refusal(twoRanks('0F0 0F1 0B0 0B1 0F2', '1F0 1B0 1F1 1B1')), /micro-batches run 0\.\.1/);
});

test('a backward before its own forward on the same rank is a deadlock naming both', () => {
  assert.match(refusal(twoRanks('0F0 0B1 0F1 0B0', '1F0 1B0 1F1 1B1')), /deadlock: rank 0 runs 0B1 \(position 1\) before 0F1 \(position 2\)/);
});

test('a cross-rank cycle names the stuck rank, the action and what it waits for', () => {
  // Rank 1 insists on micro-batch 1 first, rank 0 waits for micro-batch 0's gradient.
  const message = refusal(twoRanks('0F0 0B0 0F1 0B1', '1F1 1B1 1F0 1B0'));
  assert.match(message, /^deadlock: rank 0 waits before 0B0 for 1B0's gradient from rank 1, but that is rank 1 waiting before 1F1/);
});

test('the blocking model refuses what only unbounded buffering would save', () => {
  // Rank 0 pushes two activations while rank 1 wants the second first: with one message per channel rank 0 stalls.
  const message = refusal(twoRanks('0F0 0F1 0B0 0B1', '1F1 1B1 1F0 1B0'));
  assert.match(message, /rank 0 waits after 0F1 to send its activation to rank 1, but that channel still holds 0F0's activation/);
});

test('sizes and placement are checked before anything is indexed', () => {
  const good = twoRanks('0F0 0B0', '1F0 1B0', 1);
  assert.match(refusal({ ...good, ranks: 0 }), /ranks must be a positive integer/);
  assert.match(refusal({ ...good, placement: [0] }), /placement must list a rank for each of its 2 stages/);
  assert.match(refusal({ ...good, placement: [0, 2] }), /stage 1 is placed on rank 2, but ranks run 0\.\.1/);
  assert.match(refusal({ ...good, order: [good.order[0]!] }), /one action list for each of its 2 ranks/);
  assert.match(refusal({ ...good, stages: 2, microbatches: 1e9 }), /schedule has 4 actions, too few for 2 stages × 1000000000 micro-batches/);
});
