// The closed forms the web lab shows beside a simulation must agree with the simulator wherever their conditions hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { catalogueNames, generateSchedule, scheduleTheory, simulate, uniformCosts } from '../../src/schedule/index.js';
import { idleWithin } from '../../src/trace/index.js';


/** Costs in quarter seconds, exact in binary floating point. */
const quarter = fc.integer({ min: 1, max: 12 }).map((q) => q / 4);
const cases = fc.record({
  name: fc.constantFrom(...catalogueNames),
  ranks: fc.integer({ min: 1, max: 6 }),
  microbatches: fc.integer({ min: 1, max: 14 }),
  chunks: fc.integer({ min: 2, max: 4 }),
  F: quarter,
  I: quarter,
  W: quarter,
  equal: fc.boolean(), // F = I = W, the condition of zb-v's formula
});

test('every closed-form bubble and peak stash equals the simulation wherever its conditions hold', () => {
  let checked = 0;
  fc.assert(
    fc.property(cases, ({ name, ranks, microbatches, chunks, F, I, W, equal }) => {
      const perRank = equal ? { F, B: 2 * F, I: F, W: F } : { F, B: I + W, I, W };
      const v = name === 'interleaved-1f1b' ? chunks : name === 'zb-v' || name === 'dualpipe-v' ? 2 : 1;
      const m = name === 'interleaved-1f1b' ? ranks * Math.ceil(microbatches / ranks) : name === 'dualpipe-v' ? Math.max(microbatches, 2 * ranks) : microbatches;
      const schedule = generateSchedule(name, { ranks, microbatches: m, chunks: v });
      const timeline = simulate(schedule, uniformCosts(schedule, perRank));
      const theory = scheduleTheory(name, { ranks, microbatches: m, chunks: v }, perRank);
      assert.ok(theory, `${name} has a formula`);
      if (theory.bubble !== undefined) {
        checked++;
        for (const fraction of timeline.bubbleFraction) {
          assert.ok(Math.abs(fraction - theory.bubble) < 1e-12, `${name} p=${ranks} m=${m} v=${v} ${JSON.stringify(perRank)}: ${fraction} ≠ ${theory.bubble}`);
        }
      }
      const seconds = theory.firstRankIdle?.seconds;
      if (seconds !== undefined) {
        checked++;
        assert.ok(Math.abs(idleWithin(timeline, 0) - seconds) < 1e-9, `${name} p=${ranks} m=${m} ${JSON.stringify(perRank)}: rank 0 idles ${idleWithin(timeline, 0)} ≠ ${seconds}`);
      }
      if (theory.peak !== undefined) {
        theory.peak.forEach((peak, rank) => assert.ok(Math.abs(timeline.peakActivations[rank]! - peak) < 1e-12, `${name} p=${ranks} m=${m} rank ${rank}: peak ${timeline.peakActivations[rank]} ≠ ${peak}`));
      }
    }),
    { numRuns: 400 },
  );
  assert.ok(checked > 200, `most draws meet the conditions (${checked})`);
});

test('a formula whose conditions fail gives no figure rather than a wrong one', () => {
  const costs = { F: 1, B: 2.5, I: 1, W: 1.5 }; // W > F: zb-h1's bound does not apply
  assert.equal(scheduleTheory('zb-h1', { ranks: 4, microbatches: 8, chunks: 1 }, costs)?.bubble, undefined);
  assert.equal(scheduleTheory('zb-v', { ranks: 4, microbatches: 8, chunks: 2 }, costs)?.bubble, undefined);
  assert.equal(scheduleTheory('interleaved-1f1b', { ranks: 4, microbatches: 6, chunks: 2 }, costs)?.bubble, undefined);
  assert.equal(scheduleTheory('custom', { ranks: 4, microbatches: 8, chunks: 1 }, costs), undefined);
  // The published table (p = 4, m = 8, F = 1, B = 2): 27.3% for 1F1B, 5.9% for ZB-V.
  const unit = { F: 1, B: 2, I: 1, W: 1 };
  assert.equal(scheduleTheory('1f1b', { ranks: 4, microbatches: 8, chunks: 1 }, unit)?.bubble?.toFixed(3), '0.273');
  assert.equal(scheduleTheory('zb-v', { ranks: 4, microbatches: 8, chunks: 2 }, unit)?.bubble?.toFixed(3), '0.059');
});
