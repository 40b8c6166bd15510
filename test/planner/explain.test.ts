import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimate, explain, findGpu, findPreset, type Job, type ParallelPlan } from '../../src/planner/index.js';

const job = (parallel: Partial<ParallelPlan>, gpus = 64): Job => ({
  model: findPreset('llama3-70b'), gpu: findGpu('h100-sxm'), gpus, precision: 'bf16', fp32Gradients: false,
  parallel: {
    tp: 8, pp: 4, dp: 2, microBatchSize: 1, globalBatchSize: 64, virtualStages: 1, schedule: '1f1b',
    recompute: 'full', sequenceParallel: true, zero: 1, flashAttention: true, overlapGradReduce: true, ...parallel,
  },
});

test('a stage out of memory is named with the overshoot, and the suggestions that fit come first, re-estimated', () => {
  const oom = job({ recompute: 'none', zero: 0, microBatchSize: 2 });
  const { estimate: current, findings } = explain(oom);
  assert.equal(current.memory.fits, false);
  const memory = findings.find((finding) => finding.kind === 'memory');
  assert.ok(memory, 'a memory finding');
  assert.match(memory.message, /over by \d+\.\d GiB/);
  assert.ok(memory.suggestions.length > 0);
  assert.ok(memory.suggestions[0]!.estimate.memory.fits, `first suggestion fits: ${memory.suggestions[0]!.change}`);
  for (const suggestion of memory.suggestions) {
    assert.equal(suggestion.estimate.stepTimeS, estimate(suggestion.estimate.job).stepTimeS);
  }
});

test('a large bubble is explained and more micro-batches or another schedule shrink it', () => {
  const bubbly = job({ tp: 8, pp: 8, dp: 1, microBatchSize: 4, globalBatchSize: 32 }, 64);
  const { estimate: current, findings } = explain(bubbly);
  const bubble = findings.find((finding) => finding.kind === 'bubble');
  assert.ok(bubble, 'a bubble finding');
  assert.match(bubble.message, /bubble takes \d+% of the step/);
  assert.ok(bubble.suggestions.some((s) => s.estimate.bubbleFraction < current.bubbleFraction));
});

test('tensor parallelism across nodes is called out with a within-node alternative', () => {
  const wide = job({ tp: 16, pp: 4, dp: 1, globalBatchSize: 64, recompute: 'full' });
  const { findings } = explain({ ...wide, model: findPreset('gpt3-175b') });
  const crossing = findings.find((finding) => finding.kind === 'tensor-parallel-nodes');
  assert.ok(crossing);
  assert.match(crossing.message, /spans 2 nodes/);
});
