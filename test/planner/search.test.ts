import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import { estimate, findGpu, findPreset, noPlanError, searchPlans, type SearchRequest } from '../../src/planner/index.js';

test('every plan found fits, divides the cluster, and they come fastest first', () => {
  const request: SearchRequest = { model: findPreset('llama3-8b'), gpu: findGpu('a100-80gb'), gpus: 16, globalBatchSize: 64, top: 8 };
  const result = searchPlans(request);
  assert.equal(result.plans.length, 8);
  assert.ok(result.feasible <= result.considered);
  for (const [i, plan] of result.plans.entries()) {
    const p = plan.job.parallel;
    assert.equal(p.tp * p.pp * p.dp, 16);
    assert.ok(plan.memory.fits);
    assert.equal(plan.stepTimeS, estimate(plan.job).stepTimeS); // the table shows what estimate would say
    if (i > 0) assert.ok(plan.stepTimeS >= result.plans[i - 1]!.stepTimeS);
  }
});

test('the search honours its restrictions', () => {
  const result = searchPlans({
    model: findPreset('gpt3-175b'), gpu: findGpu('a100-80gb'), gpus: 128, globalBatchSize: 256,
    tp: [8], pp: [8], schedules: ['interleaved-1f1b'], recompute: ['selective'], zero: [1], flashAttention: false, top: 3,
  });
  assert.ok(result.plans.length > 0);
  for (const plan of result.plans) {
    const p = plan.job.parallel;
    assert.deepEqual([p.tp, p.pp, p.schedule, p.recompute, p.zero], [8, 8, 'interleaved-1f1b', 'selective', 1]);
    assert.ok(p.virtualStages >= 2);
  }
});

test('a model too large for the cluster says how many GPUs would be needed', () => {
  const request: SearchRequest = { model: findPreset('llama3-405b'), gpu: findGpu('a100-40gb'), gpus: 8, globalBatchSize: 64 };
  const result = searchPlans(request);
  assert.equal(result.plans.length, 0);
  const error = noPlanError(request, result);
  assert.ok(error instanceof UsageError);
  const needed = /at least (\d+) GPUs of that kind/.exec(error.message);
  assert.ok(needed, error.message);
  const gpus = Number(needed[1]);
  // The count given is enough, and half of it is not.
  assert.ok(searchPlans({ ...request, gpus, globalBatchSize: Math.max(64, gpus), top: 1 }).plans.length > 0);
  assert.equal(searchPlans({ ...request, gpus: gpus / 2, globalBatchSize: Math.max(64, gpus), top: 1 }).plans.length, 0);
});

test('non-positive sizes are UsageErrors naming the flag', () => {
  const request: SearchRequest = { model: findPreset('llama3-8b'), gpu: findGpu('h100-sxm'), gpus: 0, globalBatchSize: 8 };
  assert.throws(() => searchPlans(request), /--gpus must be a positive integer/);
  assert.throws(() => searchPlans({ ...request, gpus: 8, globalBatchSize: -1 }), /--global-batch must be a positive integer/);
});
