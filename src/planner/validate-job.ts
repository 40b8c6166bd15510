import { UsageError } from '../errors.js';
import { validateModel } from './model.js';
import { microbatchesPerStep, type Job } from './plan.js';

const positiveInteger = (what: string, value: number): void => {
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${what} must be a positive integer, got ${value}`);
};

/** Checks that a job can run as described; each UsageError says what is wrong and what would be right. */
export function validateJob(job: Job): void {
  const { model, parallel } = job;
  validateModel(model);
  positiveInteger('cluster.gpus', job.gpus);
  for (const key of ['tp', 'pp', 'dp', 'microBatchSize', 'globalBatchSize', 'virtualStages'] as const) {
    positiveInteger(`parallel.${key}`, parallel[key]);
  }
  const { tp, pp, dp } = parallel;
  if (tp * pp * dp !== job.gpus) {
    throw new UsageError(`tp × pp × dp must equal the GPU count: ${tp} × ${pp} × ${dp} = ${tp * pp * dp}, not ${job.gpus}`);
  }
  if (model.heads % tp !== 0 || model.kvHeads % tp !== 0 || model.ffnHidden % tp !== 0) {
    throw new UsageError(
      `tp ${tp} must divide the heads (${model.heads}), key/value heads (${model.kvHeads}) and FFN width (${model.ffnHidden})`,
    );
  }
  if (pp > model.layers || model.layers - (pp - 1) * Math.ceil(model.layers / pp) < 1) {
    throw new UsageError(`pp ${pp} cannot split ${model.layers} layers with at least one layer per rank; use a smaller pp`);
  }
  const sequencesPerPipeline = parallel.microBatchSize * dp;
  if (parallel.globalBatchSize % sequencesPerPipeline !== 0) {
    throw new UsageError(
      `global batch ${parallel.globalBatchSize} must be a multiple of micro-batch × dp = ${parallel.microBatchSize} × ${dp} = ${sequencesPerPipeline}`,
    );
  }
  const v = parallel.virtualStages;
  if (parallel.schedule === 'interleaved-1f1b') {
    if (v < 2) throw new UsageError('interleaved-1f1b needs virtualStages ≥ 2; use 1f1b for one chunk per rank');
    const m = microbatchesPerStep(parallel);
    if (m % pp !== 0) {
      throw new UsageError(`interleaved-1f1b needs micro-batches per step (${m}) to be a multiple of pp (${pp})`);
    }
  } else if (parallel.schedule === 'zb-v') {
    if (v !== 2) throw new UsageError('zb-v places exactly 2 chunks per rank; set virtualStages to 2');
  } else if (v !== 1) {
    throw new UsageError(`schedule ${parallel.schedule} runs one chunk per rank; set virtualStages to 1 or use interleaved-1f1b`);
  }
  if (parallel.schedule === 'zb-v' && model.layers % (pp * v) !== 0) {
    throw new UsageError(`${model.layers} layers do not split into pp × virtualStages = ${pp * v} equal chunks`);
  }
  if (v > 1 && pp * v > model.layers) {
    throw new UsageError(`pp × virtualStages = ${pp * v} chunks exceed the ${model.layers} layers; use fewer virtual stages`);
  }
  if (![0, 1, 2, 3].includes(parallel.zero)) throw new UsageError(`parallel.zero must be 0, 1, 2 or 3, got ${parallel.zero}`);
}
