import { UsageError } from '../../errors.js';
import type { EstimateConfig } from '../config.js';
import type { ModelShape } from '../model.js';

type ParallelSettings = EstimateConfig['parallel'];

/** What an existing job's settings say, in the estimate-config shape; the command line fills the gaps. */
export interface ImportedJob {
  readonly engine: 'megatron' | 'deepspeed' | 'torchtitan';
  /** The model's shape where the settings carry it (Megatron's do; DeepSpeed's and torchtitan's do not). */
  readonly model?: Partial<ModelShape>;
  readonly parallel: Partial<ParallelSettings>;
  /** Chunks per pipeline rank from the model's layers, when the settings give layers per chunk instead. */
  readonly chunksPerRank?: (layers: number) => number;
  /** Micro-batches per pipeline per step, when the settings give that instead of a global batch. */
  readonly pipelineMicrobatches?: number;
  readonly precision?: EstimateConfig['precision'];
  readonly fp32Gradients?: boolean;
  /** The world size where the launch says it (torchrun's processes per node × nodes). */
  readonly gpus?: number;
  /** What the engine would refuse or misread in these settings, one sentence each. */
  readonly findings: readonly string[];
}

/** A positive integer from a flag's text, or a usage error naming the flag. */
export function positiveCount(source: string, name: string, value: string | true | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(number) || number < 1) throw new UsageError(`${source}: ${name} must be a positive integer, got '${value === true ? '' : value}'`);
  return number;
}

/** What the command line adds to an imported job: the model where the settings lack it, the GPU, the GPU count. */
export interface ImportContext {
  readonly source: string;
  readonly model?: ModelShape;
  readonly gpu: string;
  readonly gpus?: number;
  readonly tp?: number;
  readonly pp?: number;
}

/** The imported settings and the command line's as an estimate config; a usage error names what is still missing. */
export function importedConfig(imported: ImportedJob, context: ImportContext): EstimateConfig {
  const model = { ...context.model, ...imported.model };
  for (const key of ['layers', 'hidden', 'heads', 'seqLength', 'vocab'] as const) {
    if (model[key] === undefined) {
      throw new UsageError(`${context.source} does not say the model's ${key}; give --model (a preset or a config.json)`);
    }
  }
  const tp = context.tp ?? imported.parallel.tp ?? 1;
  const pp = context.pp ?? imported.parallel.pp ?? 1;
  const gpus = context.gpus ?? imported.gpus ?? (imported.parallel.dp === undefined ? undefined : imported.parallel.dp * tp * pp * (imported.parallel.cp ?? 1));
  if (gpus === undefined) throw new UsageError(`${context.source} does not say how many GPUs run it; give --gpus`);
  const dp = imported.parallel.dp ?? gpus / (tp * pp * (imported.parallel.cp ?? 1));
  const microBatchSize = imported.parallel.microBatchSize ?? 1;
  const globalBatchSize = imported.parallel.globalBatchSize ??
    (imported.pipelineMicrobatches === undefined ? undefined : imported.pipelineMicrobatches * microBatchSize * dp);
  if (globalBatchSize === undefined) throw new UsageError(`${context.source} does not say the global batch size`);
  const chunks = imported.chunksPerRank === undefined || pp === 1 ? imported.parallel.virtualStages : imported.chunksPerRank(model.layers!);
  if (chunks !== undefined && !Number.isInteger(chunks)) {
    throw new UsageError(`${context.source}: ${model.layers} layers do not make a whole number of model chunks on each of the ${pp} pipeline ranks`);
  }
  return {
    model: model as Required<typeof model>,
    cluster: { gpu: context.gpu, gpus },
    parallel: {
      ...imported.parallel, tp, pp, dp, microBatchSize, globalBatchSize, recompute: imported.parallel.recompute ?? 'none',
      ...(chunks === undefined ? {} : { virtualStages: chunks }),
    },
    ...(imported.precision === undefined ? {} : { precision: imported.precision }),
    ...(imported.fp32Gradients === undefined ? {} : { fp32Gradients: imported.fp32Gradients }),
  };
}
