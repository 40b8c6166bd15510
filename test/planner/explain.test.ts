import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { explain, findGpu, findPreset, jobFromConfig, type Job, type ParallelPlan } from '../../src/planner/index.js';

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
  // ZeRO-1 shards Adam's 12 bytes per parameter over the d = 2 replicas (Rajbhandari et al. 2020): half the optimizer.
  const zero = memory.suggestions.find((suggestion) => suggestion.change === 'ZeRO stage 1');
  assert.ok(zero, memory.suggestions.map((suggestion) => suggestion.change).join(', '));
  assert.ok(Math.abs(zero.estimate.memory.optimizer - current.memory.optimizer / 2) < 1);
  assert.equal(zero.estimate.memory.activations, current.memory.activations);
  // Full recomputation keeps only each layer's input: 2·s·b·h / t bytes with sequence parallelism (Korthikanti §4).
  const full = memory.suggestions.find((suggestion) => suggestion.change === 'recompute: full');
  assert.ok(full);
  const model = oom.model;
  const inputs = 20 * 4 * (2 * model.seqLength * 2 * model.hidden) / 8; // 20 layers × 4 in flight on the first rank
  assert.ok(Math.abs(full.estimate.memory.activations / inputs - 1) < 1e-9, `${full.estimate.memory.activations} vs ${inputs}`);
});

test('explain moves the 530B run from full to selective recomputation about as much as Korthikanti et al. measured', () => {
  // Korthikanti et al. 2022 (abstract): 530B on 2240 A100s, t = 8, p = 35, 42.1% MFU with full recomputation and 54.2%
  // with sequence parallelism and selective recomputation; same FLOPs, so the step shrinks by 42.1 / 54.2.
  const runs = JSON.parse(readFileSync(new URL('../../../test/planner/published-more.json', import.meta.url), 'utf8')) as {
    runs: { id: string; config: unknown }[];
  };
  const full = runs.runs.find((run) => run.id === 'korthikanti2022-530b-2240-full')!;
  const { estimate: current, findings } = explain(jobFromConfig(full.config, full.id));
  const finding = findings.find((candidate) => candidate.kind === 'recompute');
  assert.ok(finding, findings.map((candidate) => candidate.message).join('; '));
  const selective = finding.suggestions.find((suggestion) => suggestion.change === 'recompute: selective, sequence parallelism on');
  assert.ok(selective);
  const predicted = selective.estimate.stepTimeS / current.stepTimeS;
  const published = 42.1 / 54.2;
  assert.ok(Math.abs(predicted / published - 1) < 0.1, `step ratio ${predicted.toFixed(3)} vs published ${published.toFixed(3)}`);
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
