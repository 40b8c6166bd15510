import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAction, generateSchedule, isCompute, lowerSchedule } from '../../src/schedule/index.js';
import { runTraining } from '../../src/runtime/train.js';
import { tinyConfig, tinyCorpus, tinyOptions } from './helpers.js';

async function train(flags: Record<string, unknown>) {
  const options = tinyOptions({ stages: '2', microbatches: '4', steps: '2', ...flags });
  const schedule = generateSchedule(options.schedule as '1f1b', { ranks: options.stages, microbatches: options.microbatches });
  return runTraining({ options, config: tinyConfig(options), schedule, corpus: tinyCorpus(options), start: { step: 0 } });
}

test('the measured timeline holds every lowered action of the schedule, in its order, on its rank', async () => {
  const result = await train({ schedule: 'zb-h1' });
  const { schedule } = result.plan;
  const lowered = lowerSchedule(schedule, { replicas: 1, tiedEmbedding: true });
  lowered.order.forEach((actions, rank) => {
    const measured = result.timeline.events.filter((event) => event.rank === rank);
    assert.deepEqual(measured.map((event) => formatAction(event.action)), actions.map(formatAction));
    const compute = measured.filter((event) => isCompute(event.action)).sort((a, b) => a.start - b.start);
    for (let i = 1; i < compute.length; i++) assert.ok(compute[i]!.start >= compute[i - 1]!.end, 'a rank computes one action at a time');
    // a send leaves after the compute that produced it
    for (let i = 1; i < measured.length; i++) if (measured[i]!.action.kind.startsWith('SEND')) assert.ok(measured[i]!.start >= measured[i - 1]!.end);
  });
  for (const fraction of [...result.timeline.bubbleFraction, ...result.ideal.bubbleFraction]) assert.ok(fraction >= 0 && fraction < 1);
  // The ideal is the simulator with these very costs: it can only be as fast as or faster than what ran.
  assert.ok(result.ideal.makespan <= result.timeline.makespan * 1.05, `ideal ${result.ideal.makespan} vs measured ${result.timeline.makespan}`);
});

test('1F1B stashes at most p - r micro-batches on rank r, GPipe all of them', async () => {
  const oneFOneB = await train({ schedule: '1f1b' });
  assert.deepEqual(oneFOneB.timeline.peakActivations, [2, 1]);
  const gpipe = await train({ schedule: 'gpipe' });
  assert.deepEqual(gpipe.timeline.peakActivations, [4, 4]);
  assert.ok(gpipe.peakActivationBytes[0]! > oneFOneB.peakActivationBytes[0]!);
});

test('--recompute keeps only stage inputs: peak activation bytes drop on every rank', async () => {
  const stashed = await train({ schedule: 'gpipe' });
  const recomputed = await train({ schedule: 'gpipe', recompute: true });
  stashed.peakActivationBytes.forEach((bytes, rank) => {
    assert.ok(recomputed.peakActivationBytes[rank]! < bytes / 2, `rank ${rank}: ${recomputed.peakActivationBytes[rank]} vs ${bytes}`);
  });
});
