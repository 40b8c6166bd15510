import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import {
  estimate, findGpu, findPreset, layerParameters, noPlanError, searchPlans, totalParameters, type Job, type ParallelPlan,
} from '../../src/planner/index.js';

const model = findPreset('llama3-70b');
const job = (parallel: Partial<ParallelPlan> = {}): Job => ({
  model, gpu: findGpu('h100-sxm'), gpus: 8, precision: 'bf16', fp32Gradients: true,
  parallel: {
    tp: 8, pp: 1, dp: 1, microBatchSize: 1, globalBatchSize: 64, virtualStages: 1, schedule: '1f1b', recompute: 'full',
    sequenceParallel: true, zero: 0, flashAttention: true, overlapGradReduce: true, ...parallel,
  },
});

test('ZeRO-Offload keeps 16-bit weights and gradients on the GPU and 12 + 2 bytes per parameter in host memory', () => {
  // Ren et al. 2021 §3: fp16 parameters and gradients on the GPU (2Ψ + 2Ψ), fp32 parameters, momentum and variance (12Ψ)
  // and the fp16 gradients (2Ψ) on the CPU. With t = 8 each GPU holds an eighth; the node's host holds all eight.
  const parameters = totalParameters(model);
  const offloaded = estimate(job({ offload: 'optimizer' }));
  const gib = 2 ** 30;
  assert.equal(offloaded.memory.optimizer, 0);
  assert.ok(Math.abs(offloaded.memory.gradients - (2 * parameters) / 8) < 1e-6 * parameters);
  assert.ok(Math.abs(offloaded.memory.weights - (2 * parameters) / 8) < 1e-6 * parameters);
  assert.ok(Math.abs(offloaded.memory.host - 14 * parameters) < 1e-6 * parameters, `${offloaded.memory.host / gib} GiB`);
  assert.ok(offloaded.memory.fits && offloaded.memory.host <= offloaded.memory.hostCapacity);
  assert.equal(estimate(job()).memory.host, 0);
  // The CPU runs Adam and the GPU waits for it: no optimizer time on the GPU, offload time instead.
  assert.equal(offloaded.time.optimizer, 0);
  assert.ok(offloaded.time.offload > 1, `${offloaded.time.offload} s`);
});

test('8-bit Adam halves the optimizer state; offloading the weights leaves only the gathered layers on the GPU', () => {
  const adam = estimate(job({ tp: 1, dp: 8, zero: 1 }));
  const eightBit = estimate(job({ tp: 1, dp: 8, zero: 1, optimizer: 'adam-8bit' }));
  assert.ok(Math.abs(eightBit.memory.optimizer / adam.memory.optimizer - 0.5) < 1e-9); // 4 + 1 + 1 of 4 + 4 + 4 bytes
  const weightsOffloaded = estimate(job({ tp: 1, dp: 8, zero: 3, offload: 'optimizer-and-parameters' }));
  // ZeRO-3 with the weights in host memory: two layers gathered in 16 bits (computing and prefetched), nothing else.
  assert.ok(Math.abs(weightsOffloaded.memory.weights - 2 * 2 * layerParameters(model)) < 1);
  const parameters = totalParameters(model);
  assert.ok(Math.abs(weightsOffloaded.memory.host - 16 * parameters) < 1e-6 * parameters); // + the 16-bit weights
});

test('a node without the host memory for it cannot offload', () => {
  const small = { ...job({ offload: 'optimizer' }), gpu: { ...findGpu('h100-sxm'), hostMemoryBytes: 512 * 2 ** 30 } };
  const result = estimate(small);
  assert.equal(result.memory.fits, false);
  assert.ok(result.memory.total <= result.memory.capacity);
});

test('llama3-70b on 8 × h100-sxm: nothing fits on the GPUs alone, the search falls back to offloading and says its cost', () => {
  const request = { model, gpu: findGpu('h100-sxm'), gpus: 8, globalBatchSize: 64, top: 3 };
  const onGpus = searchPlans({ ...request, states: [{ optimizer: 'adam' as const, offload: 'none' as const }] });
  assert.equal(onGpus.plans.length, 0);
  const result = searchPlans(request);
  assert.equal(result.offloaded, true);
  assert.ok(result.plans.length > 0);
  for (const plan of result.plans) {
    assert.ok(plan.memory.fits && plan.memory.host > 0 && plan.memory.host <= plan.memory.hostCapacity);
    assert.ok(plan.time.offload > 0);
  }
});

test('with too little host memory nothing fits, and the message names the levers tried and LoRA as another job', () => {
  const request = { model, gpu: { ...findGpu('h100-sxm'), id: 'h100-small-host', hostMemoryBytes: 256 * 2 ** 30 }, gpus: 8, globalBatchSize: 64 };
  const result = searchPlans(request);
  assert.equal(result.plans.length, 0);
  const error = noPlanError(request, result);
  assert.ok(error instanceof UsageError);
  assert.match(error.message, /even with 8-bit Adam or offloading to host memory/);
  assert.match(error.message, /GiB of host memory per node of 256 GiB/);
  assert.match(error.message, /with all state on the GPUs at least \d+ GPUs of that kind are needed/);
  assert.match(error.message, /LoRA/);
});

test('offloading mistakes are UsageErrors naming the rule', () => {
  assert.throws(() => estimate(job({ offload: 'optimizer-and-parameters' })), /needs ZeRO-3/);
  assert.throws(() => estimate(job({ offload: 'optimizer', optimizer: 'adam-8bit' })), /CPU-Adam/);
});
