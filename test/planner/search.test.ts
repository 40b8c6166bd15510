import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import {
  estimate, findGpu, findPreset, noPlanError, searchPlans, type Estimate, type ModelShape, type ParallelPlan, type SearchRequest,
} from '../../src/planner/index.js';
import { divisors } from '../../src/planner/search.js';
import { catalogueNames } from '../../src/schedule/index.js';
import fc from 'fast-check';

/** An A100 with 24 GiB, so that some of the grid fits and some does not. */
const smallGpu = { ...findGpu('a100-40gb'), id: 'a100-16gb', memoryBytes: 24 * 2 ** 30 };

/**
 * Every configuration of a small grid, built by plain loops over the documented search space (with its own copy of the
 * documented divisibility rules, to keep the loops short) and kept when `estimate` accepts it: the search must consider
 * exactly these and find the same fastest plans, or it skips valid ones or tries invalid ones.
 */
function bruteForce(model: ModelShape, gpus: number, globalBatchSize: number): Estimate[] {
  const valid: Estimate[] = [];
  const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
  const experts = model.experts ?? 1;
  for (const tp of upTo(gpus)) for (const pp of upTo(gpus)) for (const cp of upTo(gpus)) {
    const dp = gpus / (tp * pp * cp);
    if (!Number.isInteger(dp)) continue;
    if (cp > 1 && model.seqLength / cp < 1024) continue; // documented: context parallelism only for slices of 1,024 tokens or more
    for (const microBatchSize of upTo(16)) {
      if (globalBatchSize % (dp * microBatchSize) !== 0) continue;
      // Every catalogue schedule but the sequential reference; estimate rejects what a schedule cannot run.
      for (const schedule of catalogueNames.filter((name) => name !== 'naive')) for (const virtualStages of upTo(4)) {
        if (pp === 1 && schedule !== '1f1b') continue; // one schedule stands for all without a pipeline
        // The planner's choice for interleaving: equal chunks only.
        if (schedule === 'interleaved-1f1b' && model.layers % (pp * virtualStages) !== 0) continue;
        for (const recompute of ['none', 'full'] as const) for (const zero of [0, 1, 2, 3] as const) {
          if (zero > 0 && dp * cp === 1) continue; // nothing to shard over
          // The expert grid etp × ep folds over the stage's t·c·d GPUs; etp is t or 1 (the search's documented choices).
          for (const ep of upTo(experts)) for (const etp of tp > 1 ? [tp, 1] : [1]) for (const cpCommunication of ['ring', 'all-to-all'] as const) {
            if (experts % ep !== 0 || (tp * cp * dp) % (ep * etp) !== 0 || (cp === 1 && cpCommunication === 'all-to-all')) continue;
            const parallel: ParallelPlan = {
              tp, pp, dp, microBatchSize, globalBatchSize, virtualStages, schedule, recompute, sequenceParallel: tp > 1, zero,
              flashAttention: true, overlapGradReduce: true, cp, ep, etp, cpCommunication,
            };
            try {
              valid.push(estimate({ model, gpu: smallGpu, gpus, parallel, precision: 'bf16', fp32Gradients: true }));
            } catch (error) {
              if (!(error instanceof UsageError)) throw error;
            }
          }
        }
      }
    }
  }
  return valid;
}

test('the search finds what a brute force over every valid configuration of a small grid finds', () => {
  const model: ModelShape = {
    name: 'small-moe', architecture: 'llama', layers: 8, hidden: 4096, heads: 32, kvHeads: 8, ffnHidden: 8192, seqLength: 4096,
    vocab: 32000, tiedEmbeddings: false, experts: 16, expertsPerToken: 2, moeFfnHidden: 4096,
  };
  const gpus = 8;
  const globalBatchSize = 16;
  const all = bruteForce(model, gpus, globalBatchSize);
  const fitting = all.filter((result) => result.memory.fits).sort((a, b) => a.stepTimeS - b.stepTimeS);
  const result = searchPlans({ model, gpu: smallGpu, gpus, globalBatchSize, top: 10 });
  assert.equal(result.considered, all.length);
  assert.equal(result.feasible, fitting.length);
  assert.ok(fitting.length > 10 && fitting.length < all.length / 2, `${fitting.length} of ${all.length} fit`);
  assert.deepEqual(result.plans.map((plan) => plan.stepTimeS), fitting.slice(0, 10).map((plan) => plan.stepTimeS));
  const leanest = Math.min(...all.map((candidate) => candidate.memory.total));
  assert.equal(result.leanest?.memory.total, leanest);
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
  // With all state on the GPUs (what the count is for), the count given is enough, and half of it is not.
  const onGpus = { ...request, globalBatchSize: Math.max(64, gpus), top: 1, states: [{ optimizer: 'adam' as const, offload: 'none' as const }] };
  assert.ok(searchPlans({ ...onGpus, gpus }).plans.length > 0);
  assert.equal(searchPlans({ ...onGpus, gpus: gpus / 2 }).plans.length, 0);
});

test('non-positive sizes are UsageErrors naming the flag', () => {
  const request: SearchRequest = { model: findPreset('llama3-8b'), gpu: findGpu('h100-sxm'), gpus: 0, globalBatchSize: 8 };
  assert.throws(() => searchPlans(request), /--gpus must be a positive integer/);
  assert.throws(() => searchPlans({ ...request, gpus: 8, globalBatchSize: -1 }), /--global-batch must be a positive integer/);
});

test('divisors are every d with n % d = 0, ascending (the prime-factor walk against a plain loop)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 20_000 }), (n) => {
    const plain: number[] = [];
    for (let d = 1; d <= n; d++) if (n % d === 0) plain.push(d);
    assert.deepEqual(divisors(n), plain);
  }));
  assert.equal(divisors(2 ** 40).length, 41); // 10¹² GPUs took 10¹² steps
  // 2⁵³ − 1 = 6361 · 69431 · 20394401 (its published factorization): the walk to √n took 10⁸ steps a call
  const [p, q, r] = [6361, 69431, 20394401];
  assert.deepEqual(divisors(2 ** 53 - 1), [1, p, q, r, p * q, p * r, q * r, p * q * r]);
  assert.deepEqual(divisors(9_007_199_254_740_881), [1, 9_007_199_254_740_881]); // the largest prime below 2⁵³
  for (const none of [0, -6, 2.5, Number.NaN]) assert.deepEqual(divisors(none), []);
});
