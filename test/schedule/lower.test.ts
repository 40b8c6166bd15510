// Lowering, the lowered validator and the forward-only evaluation schedule, checked against lists written
// out by hand and against invariants counted here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UsageError } from '../../src/errors.js';
import {
  computePart,
  evaluationSchedule,
  formatLoweredSchedule,
  formatOrder,
  formatOrders,
  generateSchedule,
  isCompute,
  isForwardOnly,
  loweredFromJson,
  loweredToJson,
  lowerSchedule,
  parseLoweredSchedule,
  parseSchedule,
  validateLoweredSchedule,
  validateSchedule,
  type LoweredSchedule,
  type Schedule,
} from '../../src/schedule/index.js';
import { generatedSchedule } from './arbitrary.js';

const runs = { numRuns: 120 };

const generated = generatedSchedule();

const lowering = fc.record({ replicas: fc.integer({ min: 1, max: 4 }), tiedEmbedding: fc.boolean() });

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    assert.equal(error.message.split('\n').length, 1);
    return error.message;
  }
  assert.fail('accepted what should be refused');
}

test('1f1b on two ranks, two replicas, tied embedding: lowered lists written out by hand', () => {
  const lowered = lowerSchedule(generateSchedule('1f1b', { ranks: 2, microbatches: 2 }), { replicas: 2, tiedEmbedding: true });
  assert.deepEqual(formatOrders(lowered), [
    '0F0 0SEND_F0 0F1 0SEND_F1 0RECV_B0 0B0 0RECV_B1 0B1 0REDUCE_GRAD 0SEND_TIED 0RECV_TIED',
    '1RECV_F0 1F0 1B0 1SEND_B0 1RECV_F1 1F1 1B1 1SEND_B1 1REDUCE_GRAD 1SEND_TIED 1RECV_TIED',
  ]);
  assert.equal(lowered.replicas, 2);
  assert.equal(lowered.tiedEmbedding, true);
  validateLoweredSchedule(lowered);
});

test('zb-v on two ranks: no message between stages on one rank, no tied exchange when one rank holds both ends', () => {
  // Placement [0, 1, 1, 0]: boundary 1 stays on rank 1, and rank 0 holds stages 0 and 3.
  const lowered = lowerSchedule(generateSchedule('zb-v', { ranks: 2, microbatches: 1 }), { replicas: 1, tiedEmbedding: true });
  assert.deepEqual(formatOrders(lowered), [
    '0F0 0SEND_F0 3RECV_F0 3F0 3I0 3SEND_B0 3W0 0RECV_B0 0I0 0W0',
    '1RECV_F0 1F0 2F0 2SEND_F0 2RECV_B0 2I0 2W0 1I0 1SEND_B0 1W0',
  ]);
});

test('every generated schedule lowers into consistent lists that keep its compute order', () => {
  fc.assert(
    fc.property(generated, lowering, (schedule, options) => {
      const lowered = lowerSchedule(schedule, options);
      validateLoweredSchedule(lowered);
      assert.deepEqual(computePart(lowered).order, schedule.order);
      // Counted here: one send and one receive per cross-rank message, on the right ranks.
      const sends = new Map<string, number>();
      const receives = new Map<string, number>();
      lowered.order.forEach((actions, rank) => {
        for (const a of actions) {
          if (isCompute(a)) continue;
          assert.equal(schedule.placement[a.stage], rank, `${a.kind} on its stage's rank`);
          const from = a.kind === 'SEND_F' || a.kind === 'RECV_B' ? a.stage : a.kind === 'RECV_F' ? a.stage - 1 : a.stage;
          const key = `${a.kind.endsWith('F') ? 'F' : a.kind.endsWith('B') ? 'B' : a.kind}:${from}:${a.microbatch}`;
          if (a.kind.startsWith('SEND')) sends.set(key, (sends.get(key) ?? 0) + 1);
          if (a.kind.startsWith('RECV')) receives.set(key, (receives.get(key) ?? 0) + 1);
        }
      });
      let crossing = 0;
      for (let boundary = 0; boundary + 1 < schedule.stages; boundary++) {
        if (schedule.placement[boundary] !== schedule.placement[boundary + 1]) crossing++;
      }
      const pointToPoint = [...sends.keys()].filter((key) => key.startsWith('F:') || key.startsWith('B:'));
      assert.equal(pointToPoint.length, 2 * crossing * schedule.microbatches);
      for (const key of pointToPoint) assert.equal(sends.get(key), 1, key);
      const reduces = lowered.order.flat().filter((a) => a.kind === 'REDUCE_GRAD').length;
      assert.equal(reduces, options.replicas > 1 ? schedule.stages : 0);
      const tiedAcross = options.tiedEmbedding && schedule.placement[0] !== schedule.placement[schedule.stages - 1];
      assert.equal(lowered.order.flat().filter((a) => a.kind === 'SEND_TIED').length, tiedAcross ? 2 : 0);
    }),
    runs,
  );
});

test('REDUCE_GRAD follows its stage\'s last backward at once (after that backward\'s own send), so it overlaps the rest', () => {
  fc.assert(
    fc.property(generated, (schedule) => {
      const lowered = lowerSchedule(schedule, { replicas: 3, tiedEmbedding: false });
      lowered.order.forEach((actions) => {
        actions.forEach((a, position) => {
          if (a.kind !== 'REDUCE_GRAD') return;
          let previous = position - 1;
          while (actions[previous]!.kind === 'SEND_B') previous--;
          const last = actions[previous]!;
          assert.ok((last.kind === 'B' || last.kind === 'W') && last.stage === a.stage, `${a.stage}REDUCE_GRAD after ${formatOrder([last])}`);
          const later = actions.slice(position + 1).filter((b) => isCompute(b) && b.stage === a.stage && b.kind !== 'F');
          assert.deepEqual(later, [], 'no backward of that stage after its reduction');
        });
      });
    }),
    runs,
  );
});

test('lowered text and JSON forms round-trip', () => {
  fc.assert(
    fc.property(generated, lowering, (schedule, options) => {
      const lowered = lowerSchedule(schedule, options);
      assert.deepEqual(parseLoweredSchedule(formatLoweredSchedule(lowered)), lowered);
      assert.deepEqual(loweredFromJson(JSON.parse(JSON.stringify(loweredToJson(lowered)))), lowered);
      // Read as a plain schedule, lowered lists give back the compute schedule (pairs are only implied by their receives).
      const { overlaps: _pairs, ...compute } = schedule;
      assert.deepEqual(parseSchedule(formatLoweredSchedule(lowered)), compute);
    }),
    { numRuns: 60 },
  );
});

const handLowered = (rows: string[], header = 'replicas 1\ntied-embedding no'): string =>
  `${header}\n${rows.map((row, rank) => `rank ${rank}: ${row}`).join('\n')}`;

test('the lowered validator refuses inconsistent communication in one line naming the rank and the action', () => {
  const good = ['0F0 0SEND_F0 0RECV_B0 0B0', '1RECV_F0 1F0 1B0 1SEND_B0'];
  parseLoweredSchedule(handLowered(good));
  const cases: [string[], RegExp, string?][] = [
    [['0F0 0RECV_B0 0B0', '1RECV_F0 1F0 1B0 1SEND_B0'], /rank 0 never runs 0SEND_F0: 0F0's activation must go to rank 1/],
    [['0F0 0SEND_F0 0SEND_F0 0RECV_B0 0B0', '1RECV_F0 1F0 1B0 1SEND_B0'], /rank 0 runs 0SEND_F0, but that message is already handled on this rank/],
    [['0SEND_F0 0F0 0RECV_B0 0B0', '1RECV_F0 1F0 1B0 1SEND_B0'], /rank 0 runs 0SEND_F0, but it comes before 0F0, which produces what it sends/],
    [['0F0 0SEND_F0 0B0 0RECV_B0', '1RECV_F0 1F0 1B0 1SEND_B0'], /rank 0 runs 0RECV_B0, but it comes after 0B0, which needs what it receives/],
    [['0F0 0SEND_F0 0RECV_B0 0B0 1SEND_B0', '1RECV_F0 1F0 1B0'], /stage 1 runs on rank 0 and on rank 1; a stage lives on one rank/],
    [['0F0 0SEND_F0 0RECV_B0 0B0 0REDUCE_GRAD', '1RECV_F0 1F0 1B0 1SEND_B0'], /rank 0 runs 0REDUCE_GRAD, but there is one replica: nothing to reduce/],
    [['0F0 0SEND_F0 0RECV_B0 0B0 0SEND_TIED', '1RECV_F0 1F0 1B0 1SEND_B0'], /rank 0 runs 0SEND_TIED, but the schedule does not tie the embedding/, 'replicas 1\ntied-embedding no'],
    [['0F0 0SEND_F0 0RECV_B0 0B0 0SEND_TIED 0RECV_TIED', '1RECV_F0 1F0 1B0 1SEND_B0 1SEND_TIED'], /rank 1 never runs 1RECV_TIED/, 'replicas 1\ntied-embedding yes'],
    [['0F0 0SEND_F0 0RECV_B0 0B0', '1RECV_F0 1F0 1B0 1SEND_B0 1REDUCE_GRAD'], /rank 0 never runs 0REDUCE_GRAD: with replicas, every stage's gradients are reduced/, 'replicas 2'],
    [['0F0 0SEND_F0 0RECV_B0 0REDUCE_GRAD 0B0', '1RECV_F0 1F0 1B0 1SEND_B0 1REDUCE_GRAD'], /rank 0 runs 0REDUCE_GRAD, but it comes before stage 0's last backward/, 'replicas 2'],
    [['0F0 0SEND_F0 0RECV_B0 0B0 0SEND_TIED 0RECV_TIED 0REDUCE_GRAD', '1RECV_F0 1F0 1B0 1SEND_B0 1REDUCE_GRAD 1SEND_TIED 1RECV_TIED'], /rank 0 runs 0SEND_TIED, but it comes before 0REDUCE_GRAD, whose reduced gradient it exchanges/, 'replicas 2\ntied-embedding yes'],
    [['0F0 0SEND_F0 0RECV_B0 0B0', '1RECV_F0 1F0 1B0 1SEND_B0 1SEND_F0'], /rank 1 runs 1SEND_F0, but stage 1 is the last stage: no activation leaves it/],
    [['0F0 0SEND_F0 0RECV_B0 0B0', '1RECV_F0 1F0 1B0 1SEND_B0'], /REDUCE_GRAD|replicas must be a positive integer/, 'replicas 0'],
  ];
  for (const [rows, expected, header] of cases) {
    const message = refusal(() => parseLoweredSchedule(handLowered(rows, header)));
    assert.match(message, expected, rows.join(' | '));
  }
});

test('a receive placed too early deadlocks the lowered lists; the message names both ranks and what each waits for', () => {
  // Rank 0 waits for 1B0's gradient before its 0F1; rank 1 needs 0F1's activation before 1B0.
  const rows = [
    '0F0 0SEND_F0 0RECV_B0 0F1 0SEND_F1 0B0 0RECV_B1 0B1',
    '1RECV_F0 1F0 1RECV_F1 1F1 1B0 1SEND_B0 1B1 1SEND_B1',
  ];
  const message = refusal(() => parseLoweredSchedule(handLowered(rows)));
  assert.match(message, /^deadlock: rank 0 waits before 0B0 for 1B0's gradient from rank 1, but that is rank 1 waiting before 1F1 \(2 of 2 ranks stuck/);
  // The same compute order lowered by lowerSchedule runs: receives sit right before their consumers.
  validateSchedule(computePart(parseLoweredSchedule(handLowered(['0F0 0SEND_F0 0F1 0SEND_F1 0RECV_B0 0B0 0RECV_B1 0B1', '1RECV_F0 1F0 1RECV_F1 1F1 1B0 1SEND_B0 1B1 1SEND_B1']))));
});

test('a compute schedule that deadlocks is named by its lowered progress check with both ranks', () => {
  const cyclic: Schedule = {
    name: 'cyclic', ranks: 2, stages: 2, microbatches: 2, placement: [0, 1],
    order: [
      [{ kind: 'F', stage: 0, microbatch: 0 }, { kind: 'B', stage: 0, microbatch: 0 }, { kind: 'F', stage: 0, microbatch: 1 }, { kind: 'B', stage: 0, microbatch: 1 }],
      [{ kind: 'F', stage: 1, microbatch: 1 }, { kind: 'B', stage: 1, microbatch: 1 }, { kind: 'F', stage: 1, microbatch: 0 }, { kind: 'B', stage: 1, microbatch: 0 }],
    ],
  };
  assert.match(refusal(() => validateSchedule(cyclic)), /^deadlock: rank 0 waits before 0B0 for 1B0's gradient from rank 1, but that is rank 1 waiting before 1F1/);
});

test('evaluation: forward only on the training placement, every micro-batch once per stage, valid and lowered without gradients', () => {
  fc.assert(
    fc.property(generated, fc.integer({ min: 1, max: 9 }), (training, microbatches) => {
      const evaluation = evaluationSchedule(training, microbatches);
      assert.deepEqual(evaluation.placement, training.placement);
      assert.equal(evaluation.ranks, training.ranks);
      assert.equal(evaluation.microbatches, microbatches);
      assert.ok(isForwardOnly(evaluation));
      const seen = new Set(evaluation.order.flat().map((a) => `${a.stage}:${a.microbatch}`));
      assert.equal(seen.size, training.stages * microbatches);
      assert.equal(evaluation.order.flat().length, training.stages * microbatches);
      validateSchedule(evaluation);
      const lowered = lowerSchedule(evaluation, { replicas: 2, tiedEmbedding: true });
      validateLoweredSchedule(lowered);
      assert.ok(lowered.order.flat().every((a) => a.kind === 'F' || a.kind === 'SEND_F' || a.kind === 'RECV_F'));
    }),
    runs,
  );
});

test('evaluation orders, written out by hand: looped 1f1b and the V placement', () => {
  assert.deepEqual(formatOrders(evaluationSchedule(generateSchedule('1f1b', { ranks: 2, microbatches: 4 }), 3)), ['0F0 0F1 0F2', '1F0 1F1 1F2']);
  // Rank 0 holds stages 0 and 3: it forwards micro-batch 0 through stage 3 as soon as stage 2 hands it back.
  assert.deepEqual(formatOrders(evaluationSchedule(generateSchedule('zb-v', { ranks: 2, microbatches: 4 }), 3)), [
    '0F0 0F1 0F2 3F0 3F1 3F2',
    '1F0 2F0 1F1 2F1 1F2 2F2',
  ]);
  assert.match(refusal(() => evaluationSchedule(generateSchedule('1f1b', { ranks: 2, microbatches: 2 }), 0)), /evaluation micro-batches must be a positive integer \(got 0\)/);
});

test('a forward-only schedule is valid, a partly trained one is not', () => {
  validateSchedule(parseSchedule('rank 0: 0F0 0F1\nrank 1: 1F0 1F1'));
  assert.match(refusal(() => parseSchedule('rank 0: 0F0 0F1 0B0\nrank 1: 1F0 1F1 1B0')), /never runs the backward of stage 0 micro-batch 1/);
});

test('lowering refuses a bad replica count', () => {
  const schedule = generateSchedule('gpipe', { ranks: 2, microbatches: 2 });
  assert.match(refusal(() => lowerSchedule(schedule, { replicas: 0, tiedEmbedding: false })), /replicas must be a positive integer \(got 0\)/);
  assert.ok(lowerSchedule(schedule, { replicas: 1, tiedEmbedding: false }) satisfies LoweredSchedule);
});
