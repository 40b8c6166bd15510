import { UsageError } from '../errors.js';
import { scheduleNames } from '../schedule/index.js';
import { defaultFp32Gradients } from './config.js';
import { estimate, type Estimate } from './estimate.js';
import type { Gpu, Precision } from './hardware.js';
import type { ModelShape } from './model.js';
import type { Job, ParallelPlan, Recompute, ZeroStage } from './plan.js';

export interface SearchRequest {
  readonly model: ModelShape;
  readonly gpu: Gpu;
  readonly gpus: number;
  readonly globalBatchSize: number;
  readonly precision?: Precision;
  readonly fp32Gradients?: boolean;
  readonly flashAttention?: boolean;
  readonly overlapGradReduce?: boolean;
  /** Restrict a dimension to the listed values; absent means every value that fits the model and cluster. */
  readonly tp?: readonly number[];
  readonly pp?: readonly number[];
  readonly schedules?: readonly string[];
  readonly recompute?: readonly Recompute[];
  readonly zero?: readonly ZeroStage[];
  /** Sequence parallelism whenever tp > 1 (default), or never. */
  readonly sequenceParallel?: boolean;
  /** Largest micro-batch size tried. */
  readonly maxMicroBatchSize?: number;
  /** How many plans to return, fastest first. */
  readonly top?: number;
}

export interface SearchResult {
  /** The fastest plans that fit, fastest first. */
  readonly plans: readonly Estimate[];
  /** The configuration needing the least memory per GPU, whether or not it fits. */
  readonly leanest: Estimate | undefined;
  /** Configurations evaluated and how many of them fit in memory. */
  readonly considered: number;
  readonly feasible: number;
}

const divisors = (n: number): number[] => {
  const found: number[] = [];
  for (let i = 1; i <= n; i++) if (n % i === 0) found.push(i);
  return found;
};

/** Every schedule the engine offers except the sequential reference, with its chunk counts for this model. */
function scheduleChoices(request: SearchRequest, pp: number, microbatches: number): { schedule: string; chunks: number }[] {
  if (pp === 1) return [{ schedule: '1f1b', chunks: 1 }];
  const layers = request.model.layers;
  const names = request.schedules ?? scheduleNames.filter((name) => name !== 'naive');
  const choices: { schedule: string; chunks: number }[] = [];
  for (const schedule of names) {
    if (schedule === 'interleaved-1f1b') {
      if (microbatches % pp !== 0) continue;
      for (let chunks = 2; pp * chunks <= layers; chunks++) {
        if (layers % (pp * chunks) === 0) choices.push({ schedule, chunks });
      }
    } else if (schedule === 'zb-v') {
      if (layers % (2 * pp) === 0) choices.push({ schedule, chunks: 2 });
    } else {
      choices.push({ schedule, chunks: 1 });
    }
  }
  return choices;
}

/** With flash attention, selective recomputation has nothing left to recompute: it equals none. */
const recomputeChoices = (request: SearchRequest): readonly Recompute[] =>
  (request.flashAttention ?? true) ? ['none', 'full'] : ['none', 'selective', 'full'];

function checkRequest(request: SearchRequest): void {
  for (const key of ['gpus', 'globalBatchSize'] as const) {
    if (!Number.isInteger(request[key]) || request[key] < 1) {
      throw new UsageError(`${key === 'gpus' ? '--gpus' : '--global-batch'} must be a positive integer, got ${request[key]}`);
    }
  }
}

/** Every configuration that divides the cluster and the model, each estimated; the `top` fastest that fit. */
export function searchPlans(request: SearchRequest): SearchResult {
  checkRequest(request);
  const { model, gpus, globalBatchSize } = request;
  const top = request.top ?? 5;
  const precision = request.precision ?? 'bf16';
  const kept: Estimate[] = [];
  let considered = 0;
  let feasible = 0;
  let leanest: Estimate | undefined;
  const tensorDegrees = (request.tp ?? divisors(gpus)).filter(
    (t) => gpus % t === 0 && model.heads % t === 0 && model.kvHeads % t === 0 && model.ffnHidden % t === 0,
  );
  for (const tp of tensorDegrees) {
    const pipelineDegrees = (request.pp ?? divisors(gpus / tp)).filter(
      (p) => (gpus / tp) % p === 0 && p <= model.layers && model.layers - (p - 1) * Math.ceil(model.layers / p) >= 1,
    );
    for (const pp of pipelineDegrees) {
      const dp = gpus / (tp * pp);
      if (globalBatchSize % dp !== 0) continue;
      const perPipeline = globalBatchSize / dp;
      for (const microBatchSize of divisors(perPipeline).filter((b) => b <= (request.maxMicroBatchSize ?? 16))) {
        const microbatches = perPipeline / microBatchSize;
        for (const { schedule, chunks } of scheduleChoices(request, pp, microbatches)) {
          for (const recompute of request.recompute ?? recomputeChoices(request)) {
            for (const zero of request.zero ?? ([0, 1, 2, 3] as const)) {
              if (zero > 0 && dp === 1) continue; // nothing to shard over
              const parallel: ParallelPlan = {
                tp, pp, dp, microBatchSize, globalBatchSize, virtualStages: chunks, schedule, recompute,
                sequenceParallel: (request.sequenceParallel ?? true) && tp > 1, zero,
                flashAttention: request.flashAttention ?? true,
                overlapGradReduce: request.overlapGradReduce ?? true,
              };
              const job: Job = {
                model, gpu: request.gpu, gpus, parallel,
                precision, fp32Gradients: request.fp32Gradients ?? defaultFp32Gradients(precision),
              };
              considered++;
              const result = estimate(job);
              if (leanest === undefined || result.memory.total < leanest.memory.total) leanest = result;
              if (!result.memory.fits) continue;
              feasible++;
              insertFastest(kept, result, top);
            }
          }
        }
      }
    }
  }
  return { plans: kept, leanest, considered, feasible };
}

/** Keeps `list` sorted by step time and at most `limit` long. */
function insertFastest(list: Estimate[], candidate: Estimate, limit: number): void {
  if (list.length === limit && candidate.stepTimeS >= list[list.length - 1]!.stepTimeS) return;
  let index = list.length;
  while (index > 0 && list[index - 1]!.stepTimeS > candidate.stepTimeS) index--;
  list.splice(index, 0, candidate);
  if (list.length > limit) list.pop();
}
