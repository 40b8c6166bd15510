import { z } from 'zod';
import { UsageError } from '../errors.js';
import { printable } from '../quote.js';
import { describeZodError } from '../zod-message.js';
import { clusterGpus, clusterSchema, parseCluster } from './cluster.js';
import { findGpu, type Gpu, type Precision } from './hardware.js';
import { findPreset, validateModel, type ModelShape } from './model.js';
import { scheduleEntry } from './schedule-rules.js';
import type { Job, ParallelPlan } from './plan.js';

const positiveInteger = z.number().int().positive();

const modelObject = z.strictObject({
  name: z.string().optional(),
  architecture: z.enum(['gpt', 'llama']).optional(),
  layers: positiveInteger,
  hidden: positiveInteger,
  heads: positiveInteger,
  kvHeads: positiveInteger.optional(),
  headDim: positiveInteger.optional(),
  ffnHidden: positiveInteger.optional(),
  seqLength: positiveInteger,
  vocab: positiveInteger,
  tiedEmbeddings: z.boolean().optional(),
  experts: positiveInteger.optional(),
  expertsPerToken: positiveInteger.optional(),
  moeFfnHidden: positiveInteger.optional(),
  sharedExperts: z.number().int().nonnegative().optional(),
  firstDenseLayers: z.number().int().nonnegative().optional(),
  moeLayerFrequency: positiveInteger.optional(),
});

/** The `estimate --config` file: a contract other tools write. */
export const estimateConfigSchema = z.strictObject({
  model: z.union([z.string(), modelObject]),
  cluster: z.union([
    z.strictObject({
      gpu: z.string(),
      gpus: positiveInteger,
      /** This cluster's network per GPU per direction, GB/s, where it differs from the catalogue's (e.g. fewer NICs). */
      interNodeBandwidthGBs: z.number().positive().optional(),
    }),
    clusterSchema,
  ]),
  parallel: z.strictObject({
    tp: positiveInteger,
    pp: positiveInteger,
    dp: positiveInteger.optional(),
    cp: positiveInteger.optional(),
    cpCommunication: z.enum(['ring', 'all-to-all']).optional(),
    ep: positiveInteger.optional(),
    etp: positiveInteger.optional(),
    moeDispatcher: z.enum(['all-to-all', 'deepep']).optional(),
    layersPerStage: z.array(positiveInteger).readonly().optional(),
    microBatchSize: positiveInteger,
    globalBatchSize: positiveInteger,
    virtualStages: positiveInteger.optional(),
    schedule: z.string().optional(),
    recompute: z.enum(['none', 'selective', 'full']),
    sequenceParallel: z.boolean().optional(),
    zero: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]).optional(),
    flashAttention: z.boolean().optional(),
    overlapGradReduce: z.boolean().optional(),
    tpCommOverlap: z.boolean().optional(),
    stageGroups: z.array(z.number().int().nonnegative()).readonly().optional(),
    optimizer: z.enum(['adam', 'adam-8bit']).optional(),
    offload: z.enum(['none', 'optimizer', 'optimizer-and-parameters']).optional(),
  }),
  precision: z.enum(['bf16', 'fp16', 'fp8']).optional(),
  fp32Gradients: z.boolean().optional(),
});

export type EstimateConfig = z.infer<typeof estimateConfigSchema>;

/** Fields copied from the file only when given, so that a dense model carries no MoE fields. */
const optionalModelFields = [
  'headDim', 'experts', 'expertsPerToken', 'moeFfnHidden', 'sharedExperts', 'firstDenseLayers', 'moeLayerFrequency',
] as const;

function resolveModel(model: EstimateConfig['model']): ModelShape {
  if (typeof model === 'string') return findPreset(model);
  const architecture = model.architecture ?? 'gpt';
  const optional = Object.fromEntries(optionalModelFields.filter((key) => model[key] !== undefined).map((key) => [key, model[key]]));
  return validateModel({
    name: model.name ?? 'custom',
    architecture,
    layers: model.layers,
    hidden: model.hidden,
    heads: model.heads,
    kvHeads: model.kvHeads ?? model.heads,
    ffnHidden: model.ffnHidden ?? 4 * model.hidden,
    seqLength: model.seqLength,
    vocab: model.vocab,
    tiedEmbeddings: model.tiedEmbeddings ?? architecture === 'gpt',
    ...optional,
  });
}

/** A model given as a preset id or as the JSON text of a shape (the `model` object of an estimate config). */
export function parseModel(text: string, source: string): ModelShape {
  const json = parseJsonText(text, source);
  const parsed = modelObject.safeParse(json);
  if (!parsed.success) {
    throw new UsageError(`${source}: ${describeZodError(parsed.error, json, modelObject)}`);
  }
  return resolveModel(parsed.data);
}

/**
 * bf16 (and fp8, whose master weights are bf16) accumulate and reduce gradients in fp32: Megatron-LM forces it for
 * bf16, FSDP reduces in fp32 by default, DeepSpeed's bf16 optimizer accumulates in fp32. fp16 keeps 16-bit gradients.
 */
export const defaultFp32Gradients = (precision: Precision): boolean => precision !== 'fp16';

/** A plan's parallel settings with the defaults filled in (dp from the GPU count, SP on under TP, 1F1B). */
export function resolveParallel(parallel: EstimateConfig['parallel'], gpus: number): ParallelPlan {
  const schedule = parallel.schedule ?? '1f1b';
  const defaultChunks = scheduleEntry(schedule).chunks.default;
  const cp = parallel.cp ?? 1;
  const dp = parallel.dp ?? gpus / (parallel.tp * parallel.pp * cp);
  if (!Number.isInteger(dp)) {
    const product = cp > 1 ? `tp × pp × cp = ${parallel.tp * parallel.pp * cp}` : `tp × pp = ${parallel.tp * parallel.pp}`;
    throw new UsageError(`${product} must divide the GPU count ${gpus}, or give parallel.dp`);
  }
  return {
    tp: parallel.tp,
    pp: parallel.pp,
    dp,
    ...(parallel.cp === undefined ? {} : { cp: parallel.cp }),
    ...(parallel.cpCommunication === undefined ? {} : { cpCommunication: parallel.cpCommunication }),
    ...(parallel.ep === undefined ? {} : { ep: parallel.ep }),
    ...(parallel.etp === undefined ? {} : { etp: parallel.etp }),
    ...(parallel.moeDispatcher === undefined ? {} : { moeDispatcher: parallel.moeDispatcher }),
    ...(parallel.layersPerStage === undefined ? {} : { layersPerStage: parallel.layersPerStage }),
    ...(parallel.stageGroups === undefined ? {} : { stageGroups: parallel.stageGroups }),
    ...(parallel.tpCommOverlap === undefined ? {} : { tpCommOverlap: parallel.tpCommOverlap }),
    ...(parallel.optimizer === undefined ? {} : { optimizer: parallel.optimizer }),
    ...(parallel.offload === undefined ? {} : { offload: parallel.offload }),
    microBatchSize: parallel.microBatchSize,
    globalBatchSize: parallel.globalBatchSize,
    virtualStages: parallel.virtualStages ?? defaultChunks,
    schedule,
    recompute: parallel.recompute,
    sequenceParallel: parallel.sequenceParallel ?? parallel.tp > 1,
    zero: parallel.zero ?? 0,
    flashAttention: parallel.flashAttention ?? true,
    overlapGradReduce: parallel.overlapGradReduce ?? true,
  };
}

/** Turns the parsed JSON of an estimate config into a job; `source` names the file in messages. */
export function jobFromConfig(json: unknown, source: string, extraGpus: readonly Gpu[] = []): Job {
  const parsed = estimateConfigSchema.safeParse(json);
  if (!parsed.success) {
    throw new UsageError(`${source}: ${describeZodError(parsed.error, json, estimateConfigSchema)}`);
  }
  const config = parsed.data;
  const precision = config.precision ?? 'bf16';
  const common = { model: resolveModel(config.model), precision, fp32Gradients: config.fp32Gradients ?? defaultFp32Gradients(precision) };
  if ('groups' in config.cluster) {
    const cluster = parseCluster(config.cluster, `${source}: cluster`, extraGpus);
    const gpus = clusterGpus(cluster);
    return { ...common, gpu: cluster.groups[0]!.gpu, gpus, cluster, parallel: resolveParallel(config.parallel, gpus) };
  }
  const gpu = findGpu(config.cluster.gpu, extraGpus);
  const network = config.cluster.interNodeBandwidthGBs;
  return {
    ...common,
    gpu: network === undefined ? gpu : { ...gpu, interNodeBandwidth: network * 1e9 },
    gpus: config.cluster.gpus,
    parallel: resolveParallel(config.parallel, config.cluster.gpus),
  };
}

/** Parses the text of an estimate config file. */
export function parseEstimateConfig(text: string, source: string, extraGpus: readonly Gpu[] = []): Job {
  return jobFromConfig(parseJsonText(text, source), source, extraGpus);
}

/** JSON text parsed, or a usage error naming the file and where the JSON breaks. */
export function parseJsonText(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${source} is not valid JSON: ${printable((error as Error).message, 80)}`);
  }
}
