import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { generateSchedule } from '../../src/schedule/index.js';
import { checkFault, parseFault } from '../../src/runtime/fault.js';
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

test('a CONVEYOR_FAULT that can never fire is refused, saying why', () => {
  assert.throws(() => parseFault('rank:1,rank:0,step:1,action:F'), /'rank' is given twice in 'rank:1,rank:0,step:1,action:F'/);
  assert.throws(() => parseFault('rank:0,step:1,action:B,mode:nan'), /mode:nan poisons a forward's result, so it needs action:F, not B/);
  const oneFOneB = generateSchedule('1f1b', { ranks: 2, microbatches: 4 });
  const zeroBubble = generateSchedule('zb-h1', { ranks: 2, microbatches: 4 });
  const never = (spec: string, schedule = oneFOneB, replicas = 1) => () => checkFault(parseFault(spec)!, schedule, replicas, 1, 3);
  assert.throws(never('rank:5,step:1,action:F'), /^UsageError: CONVEYOR_FAULT can never fire: rank 5 does not exist in a job of 2 ranks \(0 to 1\)$/);
  assert.throws(never('rank:1,step:99,action:F'), /step 99 is not one this run trains \(1 to 3\)/);
  assert.throws(never('rank:1,step:0,action:F'), /step 0 is not one this run trains/);
  assert.throws(never('rank:1,step:1,action:W'), /rank 1 runs no W under 1f1b \(it runs F, B\)/);
  assert.throws(never('rank:0,step:1,action:B', zeroBubble), /rank 0 runs no B under zb-h1 \(it runs F, I, W\)/);
  assert.throws(never('rank:0,step:1,action:F,microbatch:4'), /rank 0 runs no F of micro-batch 4 \(micro-batches 0 to 3\)/);
  checkFault(parseFault('rank:1,step:3,action:W')!, zeroBubble, 1, 1, 3);
  checkFault(parseFault('rank:3,step:1,action:B')!, oneFOneB, 2, 1, 3);
});

test('train refuses such a fault before it reads data: one line, exit 2', () => {
  const bin = new URL('../../../bin/conveyor.js', import.meta.url).pathname;
  const result = spawnSync(process.execPath, [bin, 'train', '--layers', '2', '--embd', '16', '--heads', '2', '--steps', '3'], {
    encoding: 'utf8',
    env: { ...process.env, CONVEYOR_FAULT: 'rank:1,step:4,action:F' },
  });
  assert.equal(result.status, 2);
  assert.equal(result.stderr, 'conveyor: CONVEYOR_FAULT can never fire: step 4 is not one this run trains (1 to 3)\n');
  assert.equal(result.stdout, '');
});
