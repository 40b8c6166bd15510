import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UsageError } from '../../src/errors.js';
import {
  configOf, estimate, findGpu, findPreset, jobFromConfig, stageParameters, type Job, type ParallelPlan,
} from '../../src/planner/index.js';

const base = (parallel: Partial<ParallelPlan> = {}, gpus = 64): Job => ({
  model: findPreset('llama2-13b'),
  gpu: findGpu('h100-sxm'),
  gpus,
  precision: 'bf16',
  fp32Gradients: false,
  parallel: {
    tp: 4, pp: 2, dp: gpus / 8, microBatchSize: 1, globalBatchSize: 256, virtualStages: 1, schedule: '1f1b',
    recompute: 'selective', sequenceParallel: true, zero: 1, flashAttention: true, overlapGradReduce: true, ...parallel,
  },
});

test('the time breakdown adds up to the step, and TFLOP/s and MFU follow from it', () => {
  const plans = fc.record({
    tp: fc.constantFrom(1, 2, 4, 8),
    pp: fc.constantFrom(1, 2, 4),
    microBatchSize: fc.constantFrom(1, 2, 4),
    recompute: fc.constantFrom('none' as const, 'selective' as const, 'full' as const),
    zero: fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const),
  });
  fc.assert(
    fc.property(plans, (choice) => {
      const job = base({ ...choice, dp: 64 / (choice.tp * choice.pp) });
      const e = estimate(job);
      const t = e.time;
      const sum = t.compute + t.tensorParallel + t.pipelineSends + t.bubble + t.dataParallel + t.optimizer;
      assert.ok(Math.abs(sum - t.step) <= 1e-9 * t.step);
      assert.ok(Math.abs(e.mfu * 989e12 * 64 * e.stepTimeS - e.modelFlops) <= 1e-6 * e.modelFlops);
      assert.ok(Math.abs(e.tflopsPerGpu * 1e12 * 64 * e.stepTimeS - (e.modelFlops + e.recomputeFlops)) <= 1e-6 * e.modelFlops);
      const m = e.memory;
      assert.ok(Math.abs(m.weights + m.gradients + m.optimizer + m.activations + m.headroom - m.total) <= 1);
      assert.equal(e.bubbleFraction === 0, job.parallel.pp === 1);
    }),
    { numRuns: 40 },
  );
});

test('more recomputation trades memory for time; a larger micro-batch holds more activations', () => {
  const none = estimate(base({ recompute: 'none', flashAttention: false }));
  const selective = estimate(base({ recompute: 'selective', flashAttention: false }));
  const full = estimate(base({ recompute: 'full', flashAttention: false }));
  assert.ok(none.memory.activations > selective.memory.activations && selective.memory.activations > full.memory.activations);
  assert.ok(none.stepTimeS < selective.stepTimeS && selective.stepTimeS < full.stepTimeS);
  assert.ok(estimate(base({ microBatchSize: 2 })).memory.activations > estimate(base({ microBatchSize: 1 })).memory.activations);
});

test('doubling the data-parallel GPUs at a fixed global batch shortens the step', () => {
  const small = estimate(base({ dp: 8 }, 64));
  const large = estimate(base({ dp: 16 }, 128));
  assert.ok(large.stepTimeS < small.stepTimeS);
  assert.ok(large.stepTimeS > small.stepTimeS / 2.2);
});

test('impossible configurations are UsageErrors that say what would be right', () => {
  const cases: [Partial<ParallelPlan>, RegExp][] = [
    [{ dp: 4 }, /tp × pp × dp must equal the GPU count/],
    [{ tp: 3, dp: 64 / 6 }, /positive integer|must divide/],
    [{ globalBatchSize: 100 }, /multiple of micro-batch × dp/],
    [{ schedule: 'interleaved-1f1b', virtualStages: 1 }, /virtualStages ≥ 2/],
    [{ schedule: 'zb-v', virtualStages: 3 }, /exactly 2 chunks/],
    [{ schedule: 'no-such' }, /unknown schedule/],
  ];
  for (const [change, message] of cases) {
    assert.throws(() => estimate(base(change)), (error: unknown) => error instanceof UsageError && message.test(error.message));
  }
  assert.throws(() => estimate({ ...base(), precision: 'fp8', gpu: findGpu('a100-80gb') }), /no fp8/);
});

test('an estimate config file fills defaults and rejects bad fields by name', () => {
  const job = jobFromConfig({
    model: { layers: 32, hidden: 4096, heads: 32, seqLength: 2048, vocab: 51200 },
    cluster: { gpu: 'a100-80gb', gpus: 16 },
    parallel: { tp: 2, pp: 2, microBatchSize: 2, globalBatchSize: 64, recompute: 'selective' },
  }, 'config.json');
  assert.equal(job.parallel.dp, 4);
  assert.equal(job.model.ffnHidden, 4 * 4096);
  assert.equal(job.parallel.sequenceParallel, true);
  assert.equal(job.parallel.schedule, '1f1b');
  assert.throws(() => jobFromConfig({ ...{ model: 'llama3-8b', cluster: { gpu: 'a100-80gb', gpus: 0 } }, parallel: {} }, 'c.json'),
    (error: unknown) => error instanceof UsageError && /c\.json: cluster\.gpus/.test(error.message));
  assert.throws(() => jobFromConfig({
    model: 'llama3-8b', cluster: { gpu: 'tpu-v5', gpus: 8 },
    parallel: { tp: 1, pp: 1, microBatchSize: 1, globalBatchSize: 8, recompute: 'none' },
  }, 'c.json'), (error: unknown) => error instanceof UsageError && /a100-40gb, a100-80gb, h100-sxm, h200, b200, mi300x/.test(error.message));
});

test('a V-shaped schedule (zb-v) puts both embeddings and the output layer on the first rank', () => {
  const model = findPreset('llama3-8b'); // untied: the output projection is a second vocab × hidden matrix
  const vShaped = estimate({ ...base({ tp: 1, pp: 4, dp: 16, schedule: 'zb-v', virtualStages: 2, zero: 0 }), model });
  const plain = estimate({ ...base({ tp: 1, pp: 4, dp: 16, schedule: 'zb-h1', virtualStages: 1, zero: 0 }), model });
  assert.equal(vShaped.memory.worstRank, 'first');
  const outputMatrix = 2 * model.vocab * model.hidden; // 16-bit weights
  assert.ok(Math.abs(vShaped.memory.weights - plain.memory.weights - outputMatrix) < 0.01 * outputMatrix);
});

test('a cluster network given in the config replaces the catalogue figure and is written back', () => {
  const file = {
    model: 'llama2-13b', cluster: { gpu: 'a100-80gb', gpus: 64, interNodeBandwidthGBs: 6.25 },
    parallel: { tp: 8, pp: 2, microBatchSize: 1, globalBatchSize: 256, recompute: 'selective' as const, zero: 0 as const, overlapGradReduce: false },
  };
  const slow = estimate(jobFromConfig(file, 'slow.json'));
  const fast = estimate(jobFromConfig({ ...file, cluster: { gpu: 'a100-80gb', gpus: 64 } }, 'fast.json'));
  assert.equal(slow.job.gpu.interNodeBandwidth, 6.25e9);
  // Only communication over the network changes: the data-parallel all-reduce crosses nodes (t = 8 fills a node).
  assert.equal(slow.time.compute, fast.time.compute);
  assert.ok(slow.time.dataParallel > 3 * fast.time.dataParallel);
  assert.deepEqual(configOf(slow.job).cluster, { gpu: 'a100-80gb', gpus: 64, interNodeBandwidthGBs: 6.25 });
  assert.deepEqual(configOf(fast.job).cluster, { gpu: 'a100-80gb', gpus: 64 });
});

test('bf16 and fp8 keep and reduce gradients in fp32 by default, fp16 in 16 bits', () => {
  const parallel = { tp: 8, pp: 1, microBatchSize: 1, globalBatchSize: 256, recompute: 'selective' as const };
  const gradientBytes = (precision: 'bf16' | 'fp16' | 'fp8'): number => {
    const job = jobFromConfig({ model: 'llama2-13b', cluster: { gpu: 'h100-sxm', gpus: 64 }, parallel, precision }, 'c.json');
    const held = stageParameters(job.model, job.parallel).first; // one rank holds everything with p = 1
    return estimate(job).memory.gradients / (held.layers + held.embeddings);
  };
  assert.ok(Math.abs(gradientBytes('bf16') - 4) < 0.1);
  assert.ok(Math.abs(gradientBytes('fp8') - 4) < 0.1);
  assert.ok(Math.abs(gradientBytes('fp16') - 2) < 0.05);
});
