import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { generateSchedule } from '../../src/schedule/index.js';
import { pollMilliseconds } from '../../src/runtime/threads/thread-ranks.js';
import { runTraining } from '../../src/runtime/train.js';
import { tinyConfig, tinyCorpus, tinyOptions } from './helpers.js';

test('ranks poll only while each has a core of its own, for twice the pipeline fill, between 50 ms and 1 s', () => {
  const cores = availableParallelism();
  assert.equal(pollMilliseconds(cores, 0.156), 312);
  assert.equal(pollMilliseconds(cores, 0.001), 50);
  assert.equal(pollMilliseconds(cores, 30), 1000);
  assert.equal(pollMilliseconds(cores + 1, 0.156), 0);
});

test('ranks that busy-poll for their messages train bitwise like ranks that sleep, and like one worker', async () => {
  const train = async (stages: number, schedule: '1f1b' | 'zb-v', pollMs: number) => {
    const options = tinyOptions({ stages: String(stages), schedule });
    const generated = generateSchedule(schedule, { ranks: stages, microbatches: options.microbatches });
    return runTraining({ options, config: tinyConfig(options), schedule: generated, corpus: tinyCorpus(options), start: { step: 0 }, runtime: { pollMs } });
  };
  const single = await train(1, '1f1b', 0);
  for (const schedule of ['1f1b', 'zb-v'] as const) {
    // 10 s of polling outlasts every wait here, so every message is taken off the port by the poll
    for (const poll of [0, 10_000]) {
      const run = await train(2, schedule, poll);
      assert.equal(run.paramChecksum, single.paramChecksum, `${schedule}, CONVEYOR_POLL_MS=${poll}`);
      assert.deepEqual(run.steps.map((step) => step.loss), single.steps.map((step) => step.loss));
    }
  }
});
