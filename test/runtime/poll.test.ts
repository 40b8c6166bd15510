import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { generateSchedule } from '../../src/schedule/index.js';
import { UsageError } from '../../src/errors.js';
import { pollMilliseconds } from '../../src/runtime/ranks.js';
import { runTraining } from '../../src/runtime/train.js';
import { tinyConfig, tinyCorpus, tinyOptions } from './helpers.js';

async function withPollEnvironment<T>(value: string | undefined, body: () => T | Promise<T>): Promise<T> {
  const saved = process.env.CONVEYOR_POLL_MS;
  if (value === undefined) delete process.env.CONVEYOR_POLL_MS;
  else process.env.CONVEYOR_POLL_MS = value;
  try {
    return await body();
  } finally {
    if (saved === undefined) delete process.env.CONVEYOR_POLL_MS;
    else process.env.CONVEYOR_POLL_MS = saved;
  }
}

test('ranks poll only while each has a core of its own, unless CONVEYOR_POLL_MS says otherwise', async () => {
  const cores = availableParallelism();
  await withPollEnvironment(undefined, () => {
    assert.equal(pollMilliseconds(cores), 50);
    assert.equal(pollMilliseconds(cores + 1), 0);
  });
  await withPollEnvironment('0', () => assert.equal(pollMilliseconds(1), 0));
  await withPollEnvironment('7.5', () => assert.equal(pollMilliseconds(cores + 1), 7.5));
  // not a non-negative number: a usage error that names the variable and what it takes
  for (const bad of ['-3', 'soon']) {
    await withPollEnvironment(bad, () =>
      assert.throws(() => pollMilliseconds(cores), (error: Error) => error instanceof UsageError && error.message === `CONVEYOR_POLL_MS must be a number of milliseconds, 0 or more, got '${bad}'`),
    );
  }
});

test('ranks that busy-poll for their messages train bitwise like ranks that sleep, and like one worker', async () => {
  const train = async (stages: number, schedule: '1f1b' | 'zb-v', poll: string) => {
    const options = tinyOptions({ stages: String(stages), schedule });
    const generated = generateSchedule(schedule, { ranks: stages, microbatches: options.microbatches });
    const setup = { options, config: tinyConfig(options), schedule: generated, corpus: tinyCorpus(options), start: { step: 0 } };
    return withPollEnvironment(poll, () => runTraining(setup));
  };
  const single = await train(1, '1f1b', '0');
  for (const schedule of ['1f1b', 'zb-v'] as const) {
    // 10 s of polling outlasts every wait here, so every message is taken off the port by the poll
    for (const poll of ['0', '10000']) {
      const run = await train(2, schedule, poll);
      assert.equal(run.paramChecksum, single.paramChecksum, `${schedule}, CONVEYOR_POLL_MS=${poll}`);
      assert.deepEqual(run.steps.map((step) => step.loss), single.steps.map((step) => step.loss));
    }
  }
});
