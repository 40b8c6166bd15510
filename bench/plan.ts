/** Times the planner's exhaustive search: Llama-3 405B on 16,384 H100s and smaller requests. Prints figures only. */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  activationBytesPerLayer, describePlan, findGpu, findPreset, layersPerRank, modelStateBytes, pipelineShape, searchPlans,
  stageParameters, type ModelShape, type ParallelPlan, type SearchRequest,
} from '../src/planner/index.js';

const GiB = 2 ** 30;

const requests: [string, SearchRequest][] = [
  ['llama3-405b on 16384 × h100-sxm, batch 2048', { model: findPreset('llama3-405b'), gpu: findGpu('h100-sxm'), gpus: 16384, globalBatchSize: 2048 }],
  ['llama3-70b on 64 × h100-sxm, batch 512', { model: findPreset('llama3-70b'), gpu: findGpu('h100-sxm'), gpus: 64, globalBatchSize: 512 }],
  ['gpt3-175b on 1024 × a100-80gb, batch 1536', { model: findPreset('gpt3-175b'), gpu: findGpu('a100-80gb'), gpus: 1024, globalBatchSize: 1536 }],
];

const milliseconds = (work: () => void): number => {
  const start = performance.now();
  work();
  return performance.now() - start;
};

for (const [label, request] of requests) {
  let result = undefined as unknown as ReturnType<typeof searchPlans>;
  // First: the search simulates every pipeline shape it meets; repeated: shapes come from the cache.
  const cold = milliseconds(() => (result = searchPlans({ ...request, top: 5 })));
  const warm = [0, 1, 2].map(() => milliseconds(() => (result = searchPlans({ ...request, top: 5 }))));
  const best = result.plans[0];
  console.log(
    `${label}: ${result.considered} configurations, ${result.feasible} fit; ` +
      `first search ${cold.toFixed(0)} ms, repeated ${warm.map((t) => t.toFixed(0)).join(' / ')} ms` +
      (best ? `\n  best: ${describePlan(best.job)}, step ${best.stepTimeS.toFixed(2)} s, MFU ${(100 * best.mfu).toFixed(1)}%` : ''),
  );
}

// The published runs the tests check (the repository's copy), predicted vs published (same settings as test/planner/reference.test.ts).
const reference = JSON.parse(
  readFileSync(new URL('../../test/planner/reference/published-runs.json', import.meta.url), 'utf8'),
) as { narayanan2021_table1: { rows: number[][] }; korthikanti2022_memory: { rows: (string | number)[][] } };
const gpt = (layers: number, hidden: number, heads: number): ModelShape => ({
  name: `gpt-${layers}x${hidden}`, architecture: 'gpt', layers, hidden, heads, kvHeads: heads, ffnHidden: 4 * hidden,
  seqLength: 2048, vocab: 51200, tiedEmbeddings: true,
});
console.log('\nNarayanan et al. 2021 Table 1 (A100 80GB, fp16, full recompute, 1F1B): TFLOP/s per GPU predicted / published');
for (const [paramsB, heads, hidden, layers, tp, pp, gpus, globalBatch, published] of reference.narayanan2021_table1.rows) {
  const best = searchPlans({
    model: gpt(layers!, hidden!, heads!), gpu: findGpu('a100-80gb'), gpus: gpus!, globalBatchSize: globalBatch!, precision: 'fp16',
    tp: [tp!], pp: [pp!], schedules: ['1f1b'], recompute: ['full'], zero: [0], sequenceParallel: false,
    flashAttention: false, overlapGradReduce: false, top: 1,
  }).plans[0]!;
  const error = (100 * (best.tflopsPerGpu - published!)) / published!;
  console.log(
    `  ${`${paramsB}B`.padStart(8)}  t=${tp} p=${pp} d=${best.job.parallel.dp} b=${best.job.parallel.microBatchSize}: ` +
      `${best.tflopsPerGpu.toFixed(1)} / ${published}  (${error >= 0 ? '+' : ''}${error.toFixed(1)}%)`,
  );
}
console.log('Korthikanti et al. 2022 Figure 1 (GiB of the first stage): predicted / published');
for (const [name, layers, hidden, heads, tp, pp, microBatch, plain, reduced, states] of reference.korthikanti2022_memory.rows) {
  const model = gpt(layers as number, hidden as number, heads as number);
  const p = pp as number;
  const shape = p > 1 ? pipelineShape('interleaved-1f1b', p, 8 * p, model.layers / p) : pipelineShape('1f1b', 1, 1, 1);
  const held = shape.inFlight[0]! * layersPerRank(model, p).first;
  const activations = (sequenceParallel: boolean, recompute: 'none' | 'selective'): number =>
    (held * activationBytesPerLayer(model, microBatch as number, tp as number, { sequenceParallel, recompute, flashAttention: false })) / GiB;
  const stateBytes = modelStateBytes(stageParameters(model, { tp, pp: p, dp: 1 } as ParallelPlan).first.layers, true, 0, 1);
  const stateGiB = (stateBytes.weights + stateBytes.gradients + stateBytes.optimizer) / GiB;
  console.log(
    `  ${name}: activations ${activations(false, 'none').toFixed(2)} / ${plain}, with sequence parallel + selective ` +
      `${activations(true, 'selective').toFixed(2)} / ${reduced}, model states ${stateGiB.toFixed(2)} / ${states}`,
  );
}
