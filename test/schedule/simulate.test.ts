import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import {
  catalogueNames,
  formatAction,
  generateSchedule,
  isCompute,
  lowerSchedule,
  messageSeconds,
  parseSchedule,
  simulate,
  uniformCosts,
  type CostModel,
} from '../../src/schedule/index.js';

test('a two-rank 1f1b with uneven stages and message time, timed by hand', () => {
  const schedule = parseSchedule('rank 0: 0F0 0F1 0B0 0B1\nrank 1: 1F0 1B0 1F1 1B1');
  const costs: CostModel = {
    duration: { F: [1, 2], B: [3, 4], I: [0, 0], W: [0, 0] },
    commSeconds: [0.5],
    activationBytes: [10, 20],
  };
  const timeline = simulate(schedule, costs);
  const spans = timeline.events.map((e) => `${e.rank}:${formatAction(e.action)}@${e.start}-${e.end}`);
  // Lowered: sends span their transfer after the producer, receives are the instant the message is taken.
  assert.deepEqual(spans, [
    '0:0F0@0-1',
    '0:0SEND_F0@1-1.5',
    '0:0F1@1-2',
    '0:0SEND_F1@2-2.5',
    '0:0RECV_B0@8-8', // 1B0 ends at 7.5, plus 0.5 for the gradient to cross
    '0:0B0@8-11',
    '0:0RECV_B1@14-14',
    '0:0B1@14-17',
    '1:1RECV_F0@1.5-1.5',
    '1:1F0@1.5-3.5',
    '1:1B0@3.5-7.5',
    '1:1SEND_B0@7.5-8',
    '1:1RECV_F1@7.5-7.5', // its input arrived at 2.5 but the rank was busy
    '1:1F1@7.5-9.5',
    '1:1B1@9.5-13.5',
    '1:1SEND_B1@13.5-14',
  ]);
  assert.equal(timeline.makespan, 17);
  assert.deepEqual(timeline.busy, [8, 12]);
  assert.deepEqual(timeline.bubbleFraction, [9 / 17, 5 / 17]);
  assert.deepEqual(timeline.peakActivations, [2, 1]);
  assert.deepEqual(timeline.peakActivationBytes, [20, 20]);
});

test('zb-v hands data between its two stages on one rank for free', () => {
  const schedule = generateSchedule('zb-v', { ranks: 2, microbatches: 1 });
  const timeline = simulate(schedule, uniformCosts(schedule, { F: 1, B: 2, I: 1, W: 1 }, { commSeconds: 100 }));
  // Boundaries 0 and 2 cross ranks (forward and back: 4 × 100); boundary 1 stays on rank 1.
  // Chain of 0.5-second chunk actions: 0F0 1F0 2F0 3F0 3I0 2I0, then 2W0 (rank 1 runs it before 1I0), 1I0 0I0 0W0.
  assert.equal(timeline.makespan, 400 + 10 * 0.5);
});

test('W frees the activation that I leaves behind', () => {
  const schedule = parseSchedule('rank 0: 0F0 0F1 0I0 0I1 0W0 0W1');
  const timeline = simulate(schedule, uniformCosts(schedule, { F: 1, B: 2, I: 1, W: 1 }, { activationBytes: 8 }));
  assert.deepEqual(timeline.peakActivations, [2]);
  assert.deepEqual(timeline.peakActivationBytes, [16]);
});

test('interleaved stashes count one chunk as 1/v of a micro-batch\'s worth, bytes likewise', () => {
  const schedule = parseSchedule('rank 0: 0F0 2F0 2B0 0B0\nrank 1: 1F0 3F0 3B0 1B0');
  const timeline = simulate(schedule, uniformCosts(schedule, { F: 1, B: 2, I: 1, W: 1 }, { activationBytes: 100 }));
  assert.deepEqual(timeline.peakActivations, [1, 1]);
  assert.deepEqual(timeline.peakActivationBytes, [100, 100]);
});

test('message time is latency plus bytes over bandwidth', () => {
  assert.equal(messageSeconds({ latencySeconds: 0.001, bytesPerSecond: 1e9 }, 2e6), 0.001 + 0.002);
});

test('a cost model of the wrong shape is refused naming the field', () => {
  const schedule = generateSchedule('1f1b', { ranks: 3, microbatches: 2 });
  const good = uniformCosts(schedule, { F: 1, B: 2, I: 1, W: 1 });
  const cases: [CostModel, RegExp][] = [
    [{ ...good, commSeconds: [0] }, /commSeconds must list 2 numbers \(got 1\)/],
    [{ ...good, duration: { ...good.duration, B: [1, -2, 1] } }, /duration\.B\[1\] must be a finite number ≥ 0 \(got -2\)/],
    [{ ...good, activationBytes: [1, 2, Number.NaN] }, /activationBytes\[2\]/],
  ];
  for (const [costs, expected] of cases) {
    assert.throws(() => simulate(schedule, costs), (error: unknown) => error instanceof UsageError && expected.test(error.message));
  }
});

test('the simulator refuses an order that cannot run even with unbounded buffers', () => {
  const schedule = {
    name: 'stuck',
    ranks: 2,
    stages: 2,
    microbatches: 1,
    placement: [0, 1],
    order: [[{ kind: 'B', stage: 0, microbatch: 0 } as const, { kind: 'F', stage: 0, microbatch: 0 } as const], [{ kind: 'F', stage: 1, microbatch: 0 } as const, { kind: 'B', stage: 1, microbatch: 0 } as const]],
  };
  assert.throws(
    () => simulate(schedule, uniformCosts(schedule, { F: 1, B: 1, I: 1, W: 1 })),
    /deadlock: rank 0 runs 0B0 \(position 0\) before 0F0 \(position 1\), whose output it waits for/,
  );
});

test('reductions and the tied exchange on the timeline, timed by hand: hidden behind compute or growing the step', () => {
  const schedule = generateSchedule('1f1b', { ranks: 2, microbatches: 2 });
  // Compute alone: rank 0 0F0 0-1, 0F1 1-2, 0B0 4-6, 0B1 7-9; rank 1 1F0 1-2, 1B0 2-4, 1F1 4-5, 1B1 5-7.
  const costs = uniformCosts(schedule, { F: 1, B: 2, I: 1, W: 1 }, { reduceSeconds: 1.5, tiedSeconds: 0.25 });
  const timeline = simulate(lowerSchedule(schedule, { replicas: 2, tiedEmbedding: true }), costs);
  const at = (token: string) => {
    const event = timeline.events.find((e) => formatAction(e.action) === token)!;
    return [event.start, event.end];
  };
  assert.deepEqual(at('1REDUCE_GRAD'), [7, 8.5]); // after 1B1, done before rank 0's last backward ends: hidden
  assert.deepEqual(at('0REDUCE_GRAD'), [9, 10.5]); // after 0B1, the last compute of the step: exposed
  assert.deepEqual(at('1SEND_TIED'), [8.5, 8.75]); // sends the reduced gradient once its reduction is done
  assert.deepEqual(at('0SEND_TIED'), [10.5, 10.75]);
  assert.deepEqual(at('0RECV_TIED'), [9, 9]);
  assert.deepEqual(at('1RECV_TIED'), [10.75, 10.75]);
  assert.equal(timeline.makespan, 10.75);
  assert.deepEqual(timeline.busy, [6, 6]);
  assert.deepEqual(timeline.bubbleFraction, [4.75 / 10.75, 4.75 / 10.75]);
});

test('free communication leaves every generator\'s compute timeline as the compute-only model times it', () => {
  for (const name of catalogueNames) {
    const schedule = generateSchedule(name, { ranks: 4, microbatches: 8 });
    const costs = uniformCosts(schedule, { F: 1, B: 2, I: 1, W: 1 });
    const lowered = simulate(lowerSchedule(schedule, { replicas: 3, tiedEmbedding: true }), costs);
    const plain = simulate(schedule, costs);
    for (const event of lowered.events) if (!isCompute(event.action)) assert.equal(event.end, event.start, `${name} ${formatAction(event.action)}`);
    assert.deepEqual(lowered.events.filter((e) => isCompute(e.action)), plain.events.filter((e) => isCompute(e.action)), name);
    assert.equal(lowered.makespan, plain.makespan, name);
    assert.deepEqual(lowered.bubbleFraction, plain.bubbleFraction, name);
  }
});
