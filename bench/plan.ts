/** Times the planner's exhaustive search: Llama-3 405B on 16,384 H100s and smaller requests. Prints figures only. */
import { performance } from 'node:perf_hooks';
import { findGpu, findPreset, searchPlans, describePlan, type SearchRequest } from '../src/planner/index.js';

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
