import { UsageError } from '../errors.js';
import { describePlan } from './report.js';
import { searchPlans, type SearchRequest, type SearchResult } from './search.js';

const GiB = 2 ** 30;
/** Largest cluster the minimum-GPU search considers: 2^20 GPUs. */
const MAX_GPUS = 2 ** 20;

/** The leanest settings with all state on the GPUs: memory only depends on these, so the minimum-GPU search needs no others. */
const leanSettings: Partial<SearchRequest> = {
  recompute: ['full'], zero: [1, 3], schedules: ['1f1b'], maxMicroBatchSize: 1, top: 1, states: [{ optimizer: 'adam', offload: 'none' }],
};

/**
 * The smallest cluster of the same GPU (doubling from the request) on which some plan fits, keeping the global
 * batch if it divides and otherwise growing it with the cluster; undefined past 2^20 GPUs.
 */
export function minimumCluster(request: SearchRequest): { gpus: number; globalBatchSize: number } | undefined {
  for (let scale = 2; request.gpus * scale <= MAX_GPUS; scale *= 2) {
    const gpus = request.gpus * scale;
    for (const globalBatchSize of [request.globalBatchSize, request.globalBatchSize * scale]) {
      const result = searchPlans({ ...request, ...leanSettings, tp: undefined, pp: undefined, cp: undefined, ep: undefined, gpus, globalBatchSize });
      if (result.plans.length > 0) return { gpus, globalBatchSize };
    }
  }
  return undefined;
}

/** A UsageError saying why no plan fits and what would be needed instead. */
export function noPlanError(request: SearchRequest, result: SearchResult): UsageError {
  const gpus = request.cluster === undefined
    ? `${request.gpus} × ${request.gpu.id}`
    : request.cluster.groups.map((group) => `${group.gpus} × ${group.gpu.id}`).join(' + ');
  const what = `${request.model.name} on ${gpus} with global batch ${request.globalBatchSize}`;
  if (result.leanest === undefined) {
    return new UsageError(`no way to split ${what}: ${result.emptyBecause.join('; ')}`);
  }
  const leanest = result.leanest;
  // The smallest cluster is counted for one kind of GPU; a cluster of groups needs more of its groups' GPUs.
  const need = request.cluster === undefined ? minimumCluster(request) : undefined;
  const needed = request.cluster !== undefined
    ? 'the groups need more GPUs, or GPUs with more memory'
    : need === undefined
    ? `more than ${MAX_GPUS} GPUs of that kind would be needed; use a GPU with more memory`
    : `with all state on the GPUs at least ${need.gpus} GPUs of that kind are needed` +
      (need.globalBatchSize === request.globalBatchSize ? '' : ` (with global batch ${need.globalBatchSize})`);
  const memory = leanest.memory;
  const host = memory.host > 0 ? ` and ${(memory.host / GiB).toFixed(0)} GiB of host memory per node of ${(memory.hostCapacity / GiB).toFixed(0)} GiB` : '';
  const levers = result.offloaded ? ', even with 8-bit Adam or offloading to host memory,' : '';
  return new UsageError(
    `no plan fits ${what}: the leanest${levers} (${describePlan(leanest.job)}) still needs ` +
      `${(memory.total / GiB).toFixed(1)} GiB per GPU of ${(memory.capacity / GiB).toFixed(1)} GiB${host}; ${needed}; ` +
      'fine-tuning with LoRA-style adapters (frozen 16-bit weights, few trained parameters) is a different job, not planned here',
  );
}
