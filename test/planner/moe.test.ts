import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import {
  activeParameters, configOf, estimate, findGpu, findPreset, jobFromConfig, modelFlopsPerStep, rankShares, remoteNodesPerToken,
  totalParameters,
  type Job, type ModelShape, type ParallelPlan,
} from '../../src/planner/index.js';

const job = (model: ModelShape, parallel: Partial<ParallelPlan> = {}, gpus = 64): Job => ({
  model, gpu: findGpu('h100-sxm'), gpus, precision: 'bf16', fp32Gradients: true,
  parallel: {
    tp: 1, pp: 1, dp: gpus, microBatchSize: 1, globalBatchSize: 256, virtualStages: 1, schedule: '1f1b',
    recompute: 'none', sequenceParallel: false, zero: 1, flashAttention: true, overlapGradReduce: true, ...parallel,
  },
});

test('MoE presets match their published total and active parameter counts', () => {
  // Mistral AI (Mixtral of Experts, Jiang et al. 2024; Mixtral 8x22B announcement), Qwen3 technical report (2025),
  // DeepSeek-V3 technical report (2024; 671B without the 14B multi-token-prediction module, 37B active).
  const published: [string, number, number, number][] = [
    ['mixtral-8x7b', 46.7e9, 12.9e9, 0.01],
    ['mixtral-8x22b', 141e9, 39e9, 0.01],
    ['qwen3-30b-a3b', 30.5e9, 3.3e9, 0.02],
    ['deepseek-v3-like', 671e9, 37e9, 0.05], // attention taken as plain multi-head attention instead of MLA
  ];
  for (const [id, total, active, tolerance] of published) {
    const model = findPreset(id);
    const ours = { total: totalParameters(model), active: activeParameters(model) };
    assert.ok(Math.abs(ours.total / total - 1) < 0.01, `${id} total ${(ours.total / 1e9).toFixed(2)}B vs ${total / 1e9}B`);
    assert.ok(Math.abs(ours.active / active - 1) < tolerance, `${id} active ${(ours.active / 1e9).toFixed(2)}B vs ${active / 1e9}B`);
  }
});

test('a MoE layer costs the FLOPs of a dense MLP as wide as its active experts, plus the router', () => {
  const moe = findPreset('mixtral-8x7b');
  // The same model with one dense MLP of width top-k × expert width (SwiGLU): the dense count is tested against Narayanan.
  const dense: ModelShape = { name: 'dense', architecture: 'llama', layers: 32, hidden: 4096, heads: 32, kvHeads: 8, ffnHidden: 2 * 14336, seqLength: 4096, vocab: 32000, tiedEmbeddings: false };
  const sequences = 64;
  const router = 3 * sequences * 4096 * 32 * (2 * 4096 * 8); // forward + backward of a 4096 × 8 GEMM per token and layer
  assert.equal(modelFlopsPerStep(moe, sequences) - modelFlopsPerStep(dense, sequences), router);
});

test('expert weights are divided over ep, the rest is replicated; ZeRO shards experts over dp / ep', () => {
  const model = findPreset('mixtral-8x7b');
  // Mixtral 8x7B from its published shape: 32 layers, hidden 4096, 32 heads of 128, 8 KV heads, 8 SwiGLU experts of 14336.
  const experts = 32 * 8 * 3 * 4096 * 14336;
  const attention = 4096 * (32 + 2 * 8) * 128 + 32 * 128 * 4096;
  const dense = 32 * (attention + 2 * 4096 + 4096 * 8) + 2 * 32000 * 4096 + 4096; // + norms, router; embeddings, final norm
  for (const ep of [1, 2, 8]) {
    const result = estimate(job(model, { ep, zero: 0 }));
    const expected = 2 * (dense + experts / ep); // 16-bit weights
    assert.ok(Math.abs(result.memory.weights / expected - 1) < 1e-9, `ep ${ep}: ${result.memory.weights} vs ${expected}`);
  }
  // ZeRO-1 over 64 replicas: the dense optimizer states over 64, the experts' over the 64 / ep GPUs holding each expert.
  const sharded = estimate(job(model, { ep: 8, zero: 1 }));
  const optimizer = 12 * (dense / 64 + experts / 8 / (64 / 8));
  assert.ok(Math.abs(sharded.memory.optimizer / optimizer - 1) < 1e-9);
});

test('compute counts the active experts only: 64 experts over ep 8 cost what 8 experts on one GPU do', () => {
  const few: ModelShape = { ...findPreset('mixtral-8x7b'), experts: 8 };
  const many: ModelShape = { ...few, experts: 64 };
  const small = estimate(job(few, { ep: 1 }));
  const large = estimate(job(many, { ep: 8 }));
  assert.ok(totalParameters(many) > 7 * totalParameters(few) * 0.9);
  // Each GPU holds 8 experts and receives the same tokens per expert; only the router's 8 vs 64 outputs differ.
  assert.ok(Math.abs(large.time.compute / small.time.compute - 1) < 0.01, `${large.time.compute} vs ${small.time.compute}`);
  assert.ok(Math.abs(large.memory.weights / small.memory.weights - 1) < 0.01);
  assert.ok(large.time.expertParallel > 0 && small.time.expertParallel === 0);
});

test('the dispatch and combine all-to-alls cross the network once ep spans nodes', () => {
  const model = findPreset('mixtral-8x7b');
  const inNode = estimate(job(model, { ep: 8 }));
  const acrossNodes = estimate(job(model, { tp: 2, dp: 32, ep: 8, sequenceParallel: true }));
  assert.equal(inNode.expertParallelCrossesNodes, false);
  assert.equal(acrossNodes.expertParallelCrossesNodes, true);
  // Per GPU, t = 2 halves the tokens each sends, but 7/8 of them now go over a 50 GB/s NIC instead of 450 GB/s NVLink.
  assert.ok(acrossNodes.time.expertParallel > 3 * inNode.time.expertParallel);
});

test('MoE mistakes are UsageErrors naming the rule', () => {
  const moe = findPreset('mixtral-8x7b');
  const cases: [Job, RegExp][] = [
    [job(findPreset('llama3-8b'), { ep: 2 }), /needs a mixture-of-experts model/],
    [job(moe, { ep: 3, dp: 63 }, 63), /must divide the 8 experts/],
    [job(moe, { ep: 8, dp: 4, pp: 16 }), /must divide dp × cp = 4/],
    [job(moe, { ep: 2, tp: 2, dp: 32 }), /needs sequence parallelism/],
    [job({ ...moe, expertsPerToken: 9 }), /must not exceed model.experts/],
    [job({ ...findPreset('llama3-8b'), sharedExperts: 1 }), /model.experts is not/],
  ];
  for (const [bad, message] of cases) {
    assert.throws(() => estimate(bad), (error: unknown) => error instanceof UsageError && message.test(error.message), message.source);
  }
});

test('a MoE estimate config names its fields as documented and round-trips through configOf', () => {
  const file = {
    model: {
      architecture: 'llama', layers: 24, hidden: 2048, heads: 16, kvHeads: 4, ffnHidden: 8192, seqLength: 4096, vocab: 50000,
      experts: 16, expertsPerToken: 4, moeFfnHidden: 1024, sharedExperts: 1, firstDenseLayers: 2, moeLayerFrequency: 2,
    },
    cluster: { gpu: 'h100-sxm', gpus: 16 },
    parallel: { tp: 1, pp: 2, ep: 4, microBatchSize: 1, globalBatchSize: 64, recompute: 'none', zero: 1 },
  };
  const first = estimate(jobFromConfig(file, 'moe.json'));
  const again = estimate(jobFromConfig(JSON.parse(JSON.stringify(configOf(first.job))), 'again.json'));
  assert.equal(again.stepTimeS, first.stepTimeS);
  assert.equal(again.memory.total, first.memory.total);
  // After two dense layers every second layer is MoE, 2, 4, …, 22: the rank with layers 0–11 holds 5, the other 6.
  const shares = rankShares(first.job.model, first.job.parallel);
  assert.deepEqual(shares.map((share) => share.layers), [{ dense: 7, moe: 5 }, { dense: 6, moe: 6 }]);
});

test('expert tensor parallelism 1 keeps whole experts on each GPU: no tensor-parallel collective on the routed path', () => {
  const model = findPreset('mixtral-8x7b');
  const folded = estimate(job(model, { tp: 2, dp: 32, ep: 8, etp: 1, sequenceParallel: true, zero: 0 }));
  const classic = estimate(job(model, { tp: 2, dp: 32, ep: 4, sequenceParallel: true, zero: 0 })); // etp = tp = 2
  // Both hold one eighth of every expert's weights per GPU: 8 whole experts over ep 8, or halves of 2 over ep 4 × etp 2.
  assert.ok(Math.abs(folded.memory.weights / classic.memory.weights - 1) < 1e-9);
  // Only the attention's collectives remain under etp 1, against the attention's and every routed copy's under etp 2.
  assert.ok(folded.time.tensorParallel < classic.time.tensorParallel / 3);
});

test('a deduplicating dispatcher sends each token once per remote node that holds one of its experts', () => {
  // Exact count over every choice of 2 of 8 experts, 2 per node on 4 nodes, seen from the node holding experts 0 and 1.
  let remote = 0;
  let choices = 0;
  for (let a = 0; a < 8; a++) for (let b = a + 1; b < 8; b++) {
    choices++;
    remote += new Set([a, b].map((expert) => Math.floor(expert / 2)).filter((node) => node !== 0)).size;
  }
  assert.ok(Math.abs(remoteNodesPerToken(8, 2, 4) - remote / choices) < 1e-12);
  assert.equal(remoteNodesPerToken(256, 8, 1), 0);
  const model = findPreset('qwen3-30b-a3b');
  const nccl = estimate(job(model, { ep: 32, dp: 64 }));
  const deduplicated = estimate(job(model, { ep: 32, dp: 64, moeDispatcher: 'deepep' }));
  assert.ok(deduplicated.time.expertParallel < nccl.time.expertParallel / 1.5);
});
