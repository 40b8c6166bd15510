import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { generateSchedule } from '../../src/schedule/index.js';
import { parseFault } from '../../src/runtime/fault.js';
import { RankFailedError } from '../../src/runtime/rank-pool.js';
import { runTraining } from '../../src/runtime/train.js';
import { tinyConfig, tinyCorpus, tinyOptions } from './helpers.js';

async function trainWithFault(spec: string, stages = 3, stallSeconds?: number): Promise<RankFailedError> {
  const options = tinyOptions({ stages: String(stages), steps: '4' });
  const schedule = generateSchedule('1f1b', { ranks: stages, microbatches: options.microbatches });
  const fault = parseFault(spec)!;
  const began = performance.now();
  const error = await runTraining({ options, config: tinyConfig(options), schedule, corpus: tinyCorpus(options), start: { step: 0 }, runtime: { fault, ...(stallSeconds === undefined ? {} : { stallSeconds }) } }).then(
    () => assert.fail(`a run with ${spec} finished`),
    (reason: unknown) => reason,
  );
  assert.ok((performance.now() - began) / 1000 < 10, 'the failure stopped the run within seconds');
  assert.ok(error instanceof RankFailedError, String(error));
  return error;
}

test('an exception on one rank stops the run and names rank, step, stage, action and micro-batch', async () => {
  const error = await trainWithFault('rank:1,step:2,action:B,microbatch:2');
  assert.equal(error.failure.rank, 1);
  assert.match(error.message, /rank 1 failed at step 2, stage 1, B micro-batch 2: injected fault/);
});

test('a rank that dies abruptly is reported with the action it was running', async () => {
  const error = await trainWithFault('rank:2,step:1,action:F,microbatch:1,mode:exit');
  assert.equal(error.failure.rank, 2);
  assert.match(error.message, /rank 2 failed at step 1, stage 2, F micro-batch 1: worker exited with code 70/);
});

test('a NaN anywhere surfaces as a NaN loss on the last stage', async () => {
  const error = await trainWithFault('rank:0,step:3,action:F,microbatch:0,mode:nan');
  assert.match(error.message, /rank 2 failed at step 3, stage 2, F micro-batch 0: loss is NaN/);
});

test('a rank that stops making progress is named first, with where every other rank waits', async () => {
  const error = await trainWithFault('rank:1,step:2,action:F,microbatch:1,mode:hang', 3, 2);
  assert.equal(error.failure.rank, 1);
  assert.match(error.message, /^rank 1 failed at step 2, stage 1, F micro-batch 1: stopped making progress: no rank finished an action for 2 s \(/);
  assert.match(error.message, /rank 2: step 2, stage 2, waiting for the input of F micro-batch 1/);
  assert.match(error.message, /rank 0: step 2, stage 0, waiting for the input of B micro-batch 0/);
});

test('CONVEYOR_FAULT that does not parse says what it takes', () => {
  assert.throws(() => parseFault('rank:1,step:two,action:B'), /'step' must be a whole number/);
  assert.throws(() => parseFault('rank:1,step:2,action:X'), /action 'X' is not one of F, B, I, W/);
  assert.throws(() => parseFault('rank:1,action:B'), /'step' is missing/);
  assert.throws(() => parseFault('rank:1,step:2,action:B,colour:red'), /unknown field 'colour'/);
  assert.equal(parseFault(''), undefined);
  assert.deepEqual(parseFault('rank:1,step:2,action:W'), { rank: 1, step: 2, action: 'W', mode: 'throw' });
});
