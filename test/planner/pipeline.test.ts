import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pipelineShape } from '../../src/planner/index.js';
import { generateSchedule, simulate, uniformCosts, type ScheduleName } from '../../src/schedule/index.js';

const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

test('1F1B under uniform costs: bubble (p-1)/(m+p-1) and p micro-batches in flight on the first rank', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 200 }), (ranks, microbatches) => {
      const shape = pipelineShape('1f1b', ranks, microbatches, 1);
      assert.ok(close(shape.bubbleFraction[0]!, (ranks - 1) / (microbatches + ranks - 1)));
      assert.equal(shape.inFlight[0], Math.min(ranks, microbatches));
    }),
    { numRuns: 60 },
  );
});

test('GPipe holds every micro-batch; interleaving holds p + (p-1)/v (Korthikanti et al. 2022 §4.2.3)', () => {
  for (const [ranks, microbatches] of [[4, 40], [8, 200]] as const) {
    assert.equal(pipelineShape('gpipe', ranks, microbatches, 1).inFlight[0], microbatches);
    for (const chunks of [2, 4]) {
      const shape = pipelineShape('interleaved-1f1b', ranks, microbatches, chunks);
      assert.ok(close(shape.inFlight[0]!, ranks + (ranks - 1) / chunks), `p=${ranks} v=${chunks}: ${shape.inFlight[0]}`);
    }
  }
});

test('continuing the steady state past 8p micro-batches matches simulating them all', () => {
  const cases: [ScheduleName, number][] = [
    ['1f1b', 1], ['gpipe', 1], ['interleaved-1f1b', 2], ['zb-h1', 1], ['zb-h2', 1], ['zb-v', 2], ['dualpipe-v', 2],
  ];
  for (const [schedule, chunks] of cases) {
    for (const ranks of [2, 3, 4]) {
      const microbatches = 13 * ranks;
      const generated = generateSchedule(schedule, { ranks, microbatches, chunks });
      const timeline = simulate(generated, uniformCosts(generated, { F: 1, B: 2, I: 1, W: 1 }));
      const shape = pipelineShape(schedule, ranks, microbatches, chunks);
      timeline.bubbleFraction.forEach((bubble, rank) => {
        assert.ok(close(shape.bubbleFraction[rank]!, bubble), `${schedule} p=${ranks} rank ${rank}: ${shape.bubbleFraction[rank]} vs ${bubble}`);
        assert.ok(close(shape.inFlight[rank]!, timeline.peakActivations[rank]!), `${schedule} p=${ranks} rank ${rank} stash`);
      });
    }
  }
});
