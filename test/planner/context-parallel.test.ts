import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UsageError } from '../../src/errors.js';
import {
  activationBytesPerLayer, estimate, findGpu, findPreset, jobFromConfig, layerTimes, peakFlops, searchPlans,
  type Job, type ModelShape, type ParallelPlan,
} from '../../src/planner/index.js';

const job = (parallel: Partial<ParallelPlan> = {}, model: ModelShape = findPreset('llama3-70b'), gpus = 64): Job => ({
  model, gpu: findGpu('h100-sxm'), gpus, precision: 'bf16', fp32Gradients: true,
  parallel: {
    tp: 8, pp: 4, dp: 2, microBatchSize: 1, globalBatchSize: 64, virtualStages: 1, schedule: '1f1b',
    recompute: 'none', sequenceParallel: true, zero: 1, flashAttention: true, overlapGradReduce: true, ...parallel,
  },
});

test('context parallelism divides every activation of a layer by cp', () => {
  const shapes = fc.record({
    heads: fc.constantFrom(8, 32, 64), kvDivisor: fc.constantFrom(1, 4, 8), seqLength: fc.constantFrom(4096, 32768),
    micro: fc.integer({ min: 1, max: 4 }), tp: fc.constantFrom(1, 2, 8), cp: fc.constantFrom(2, 4, 16),
    sequenceParallel: fc.boolean(), recompute: fc.constantFrom('none' as const, 'selective' as const, 'full' as const),
    kind: fc.constantFrom('dense' as const, 'moe' as const),
  });
  fc.assert(fc.property(shapes, (s) => {
    const model: ModelShape = {
      name: 'm', architecture: 'llama', layers: 4, hidden: 128 * s.heads, heads: s.heads, kvHeads: Math.max(1, s.heads / s.kvDivisor),
      ffnHidden: 3 * 128 * s.heads, seqLength: s.seqLength, vocab: 32000, tiedEmbeddings: false, experts: 8, expertsPerToken: 2,
    };
    const options = { sequenceParallel: s.sequenceParallel, recompute: s.recompute, flashAttention: true, kind: s.kind };
    const whole = activationBytesPerLayer(model, s.micro, s.tp, options);
    const split = activationBytesPerLayer(model, s.micro, s.tp, { ...options, cp: s.cp });
    assert.ok(Math.abs(split * s.cp - whole) <= 1e-9 * whole);
  }), { numRuns: 60 });
});

test('a GPU of a cp = 2 group at micro-batch 2 computes what one GPU does at micro-batch 1', () => {
  // Same tokens per GPU (2·s/2 = s) and the same causal attention work (s²·2/2): the kernels are identical.
  const model = findPreset('llama3-70b');
  const device = { gpu: findGpu('h100-sxm'), peak: peakFlops(findGpu('h100-sxm'), 'bf16') };
  const settings = { tp: 8, ep: 1, etp: 8, sequenceParallel: true, recompute: 'none' as const, flashAttention: true, gradientBytes: 4 };
  const single = layerTimes(model, device, { ...settings, microBatchSize: 1, cp: 1 });
  const pair = layerTimes(model, device, { ...settings, microBatchSize: 2, cp: 2 });
  assert.ok(Math.abs(pair.forward - single.forward) < 1e-12 && Math.abs(pair.backward - single.backward) < 1e-12);
});

test('the ring K/V exchange hides behind attention in a node and shows once it crosses nodes on short sequences', () => {
  const long = estimate(job({ tp: 2, pp: 4, cp: 4, dp: 2 })); // 8192 tokens, K/V ring within a node (t·c = 8)
  assert.equal(long.contextParallelCrossesNodes, false);
  // Everything that overlaps costs half its time: exposed is zero here, so the part is under half the exchange.
  assert.ok(long.time.contextParallel > 0 && long.time.contextParallel < 0.05 * long.time.compute);
  const short = findPreset('llama2-7b'); // 4096 tokens, 32 K/V heads: large blocks, little attention per block
  const across = estimate(job({ tp: 8, pp: 1, cp: 8, dp: 1, globalBatchSize: 8 }, short));
  assert.equal(across.contextParallelCrossesNodes, true);
  const within = estimate(job({ tp: 1, pp: 1, cp: 8, dp: 8, globalBatchSize: 8, sequenceParallel: false }, short));
  assert.ok(across.time.contextParallel / across.time.compute > 3 * (within.time.contextParallel / within.time.compute));
});

test('with cp the gradients reduce and ZeRO shards over dp × cp', () => {
  const plain = estimate(job({ tp: 8, pp: 1, dp: 8, zero: 1 }));
  const context = estimate(job({ tp: 8, pp: 1, cp: 2, dp: 4, zero: 1 }));
  assert.equal(context.memory.weights, plain.memory.weights);
  assert.ok(Math.abs(context.memory.optimizer - plain.memory.optimizer) < 1);
  assert.ok(Math.abs(context.memory.activations * 2 - plain.memory.activations) < 1e-6 * plain.memory.activations);
});

test('context-parallel mistakes are UsageErrors naming the rule', () => {
  const cases: [Job, RegExp][] = [
    [job({ cp: 3, dp: 1 }, findPreset('llama3-70b'), 96), /multiple of 2 × cp = 6/],
    [job({ cp: 2, dp: 1, flashAttention: false }), /needs flashAttention/],
    [job({ cp: 2, dp: 1, cpCommunication: 'all-to-all' }), /all-to-all context parallelism splits the heads/],
    [job({ cp: 2, dp: 2 }), /tp × pp × cp × dp must equal the GPU count: 8 × 4 × 2 × 2 = 128, not 64/],
  ];
  for (const [bad, message] of cases) {
    assert.throws(() => estimate(bad), (error: unknown) => error instanceof UsageError && message.test(error.message), message.source);
  }
  assert.throws(() => jobFromConfig({
    model: 'llama3-70b', cluster: { gpu: 'h100-sxm', gpus: 64 },
    parallel: { tp: 8, pp: 3, cp: 2, microBatchSize: 1, globalBatchSize: 64, recompute: 'none' },
  }, 'c.json'), /tp × pp × cp = 48 must divide the GPU count 64/);
});

test('the search covers cp and both ways of exchanging K/V, and keeps dp = gpus / (tp · pp · cp)', () => {
  const result = searchPlans({
    model: { ...findPreset('llama3-8b'), seqLength: 32768 }, gpu: findGpu('h100-sxm'), gpus: 16, globalBatchSize: 16, top: 200,
  });
  const contexts = new Set(result.plans.map((plan) => `${plan.job.parallel.cp ?? 1}/${plan.job.parallel.cpCommunication ?? '-'}`));
  assert.ok(contexts.has('2/ring') && contexts.has('2/all-to-all'), [...contexts].join(' '));
  for (const plan of result.plans) {
    const p = plan.job.parallel;
    assert.equal(p.tp * p.pp * (p.cp ?? 1) * p.dp, 16);
  }
});
