import { UsageError } from '../../errors.js';
import { microbatchesPerStep, type Job } from '../plan.js';
import { engineRefusals, equalChunks, torchSchedules } from './refusals.js';

type Value = string | number | boolean;
/** [section, key, value] as torchtitan's config tree names them (section.key on its command line). */
type Setting = readonly [section: string, key: string, value: Value];

/** torchtitan's own config functions for our presets (torchtitan/models/llama3/config_registry.py). */
const baseConfigs: Readonly<Record<string, { function: string; flavor: string; precision: Job['precision'] }>> = {
  'llama3-8b': { function: 'llama3_8b', flavor: '8B', precision: 'bf16' },
  'llama3-70b': { function: 'llama3_70b', flavor: '70B', precision: 'bf16' },
  'llama3-405b': { function: 'llama3_405b', flavor: '405B', precision: 'fp8' }, // Float8LinearConverter on all but lm_head
};

/**
 * torchtitan's own config function whose command-line overrides give this plan, or undefined: overrides cannot
 * change the model's converters, so the base must already train in the plan's precision.
 */
export function torchtitanOverrideBase(job: Job): string | undefined {
  const base = baseConfigs[job.model.name];
  if (base === undefined || base.precision !== job.precision) return undefined;
  return job.parallel.tp > 1 && !job.parallel.sequenceParallel ? undefined : base.function;
}

/** Data-parallel layout: FSDP2 shards over d (ZeRO-2 keeps weights gathered until the backward), or replicates. */
function dataParallel(job: Job): Setting[] {
  const p = job.parallel;
  const settings: Setting[] = [
    ['parallelism', 'data_parallel_replicate_degree', p.zero === 0 ? p.dp : 1],
    ['parallelism', 'data_parallel_shard_degree', p.zero === 0 ? 1 : p.dp],
  ];
  if (p.zero >= 2) settings.push(['parallelism', 'fsdp_reshard_after_forward', p.zero === 3 ? 'always' : 'never']);
  return settings;
}

/** Settings common to both forms, except the batch, which the two releases name differently. */
function parallelSettings(job: Job): Setting[] {
  const { model, parallel: p } = job;
  // (v0.2.2 has no enable_sequence_parallel: its refusals keep sequence parallelism on under TP.)
  const settings: Setting[] = [...dataParallel(job), ['parallelism', 'tensor_parallel_degree', p.tp]];
  if (p.tp > 1 && !p.sequenceParallel) settings.push(['parallelism', 'enable_sequence_parallel', false]);
  if ((p.cp ?? 1) > 1) settings.push(['parallelism', 'context_parallel_degree', p.cp!]);
  if ((p.ep ?? 1) > 1) settings.push(['parallelism', 'expert_parallel_degree', p.ep!]);
  settings.push(['parallelism', 'pipeline_parallel_degree', p.pp]);
  if (p.pp > 1) {
    settings.push(['parallelism', 'pipeline_parallel_schedule', torchSchedules[p.schedule]!]);
    // torchtitan counts the embedding and the output as a layer each unless told not to; the planner does not.
    settings.push(['parallelism', 'pipeline_parallel_first_stage_less_layers', 0]);
    settings.push(['parallelism', 'pipeline_parallel_last_stage_less_layers', 0]);
    if (equalChunks(job)) settings.push(['parallelism', 'pipeline_parallel_layers_per_stage', model.layers / (p.pp * p.virtualStages)]);
  }
  return settings;
}

function checked(job: Job, engine: 'torchtitan' | 'torchtitan-toml'): void {
  const refusals = engineRefusals(engine, job);
  if (refusals.length > 0) throw new UsageError(`${refusals[0]}; re-plan with plan --export ${engine}`);
}

/** The batch under current torchtitan's names: tokens per micro-batch and per step, micro-batches as a count. */
function currentSettings(job: Job): Setting[] {
  const { model, parallel: p } = job;
  const settings: Setting[] = [
    ['training', 'num_tokens_per_microbatch_per_dp_rank', p.microBatchSize * model.seqLength],
    ['training', 'num_tokens_per_train_step', p.globalBatchSize * model.seqLength],
    ['training', 'max_context_length', model.seqLength],
    ['training', 'mixed_precision_param', 'bfloat16'],
    ...parallelSettings(job),
  ];
  if (p.pp > 1) {
    settings.push(['parallelism', 'num_pp_microbatches', microbatchesPerStep(p)]);
    // trainer.py refuses CUDA graphs under pipeline parallelism.
    settings.push(['training', 'disable_cuda_graphs', true]);
  }
  return settings;
}

const pythonValue = (value: Value): string => (typeof value === 'boolean' ? (value ? 'True' : 'False') : JSON.stringify(value));
const functionName = (job: Job): string =>
  `${job.model.name.replace(/[^A-Za-z0-9]+/g, '_')}_${job.gpus}x${job.gpu.id.replace(/[^A-Za-z0-9]+/g, '_')}`.toLowerCase();

/**
 * The plan as a torchtitan config function (current torchtitan reads no TOML: `--module M --config F` picks a
 * Python function returning Trainer.Config). It starts from torchtitan's own function for the model where one exists.
 */
export function torchtitanConfigFunction(job: Job): string {
  checked(job, 'torchtitan');
  const base = baseConfigs[job.model.name];
  const name = functionName(job);
  const lines = ['from torchtitan.trainer import Trainer'];
  if (base === undefined) {
    lines.push('from my_configs import base_config  # your Trainer.Config function for this model: torchtitan ships none for it');
  } else {
    lines.push(`from torchtitan.models.llama3.config_registry import ${base.function} as base_config`);
  }
  if (job.parallel.recompute === 'full') lines.push('from torchtitan.distributed.activation_checkpoint import FullAC');
  if (job.precision === 'fp8') lines.push('from torchtitan.components.quantization import Float8LinearConverter');
  if (base !== undefined) lines.push('from torchtitan.models.llama3 import model_registry');
  lines.push('', '', `def ${name}() -> Trainer.Config:`, '    config = base_config()');
  for (const [section, key, value] of currentSettings(job)) lines.push(`    config.${section}.${key} = ${pythonValue(value)}`);
  lines.push(`    config.activation_checkpoint = ${job.parallel.recompute === 'full' ? 'FullAC.Config()' : 'None'}`);
  // The model built again with exactly the plan's precision: torchtitan's own llama3_405b() converts to fp8.
  const converters = job.precision === 'fp8' ? 'converters=[Float8LinearConverter.Config()]' : 'converters=[]';
  if (base !== undefined) lines.push(`    config.model_spec = model_registry("${base.flavor}", ${converters})`);
  else if (job.precision === 'fp8') lines.push('    # fp8: rebuild config.model_spec with converters=[Float8LinearConverter.Config()]');
  lines.push('    return config');
  return `${lines.join('\n')}\n`;
}

/** The same settings as `--section.option value` overrides of torchtitan's base config (frozen, kept for old scripts). */
export function torchtitanOverrides(job: Job): string[] {
  checked(job, 'torchtitan');
  if (torchtitanOverrideBase(job) === undefined) {
    throw new UsageError('torchtitan\'s command line cannot set the model\'s converters or turn sequence parallelism off for this plan; use the config function');
  }
  const words = currentSettings(job).flatMap(([section, key, value]) => (value === true ? [`--${section}.${key}`] : [`--${section}.${key}`, `${value}`]));
  words.push(`activation-checkpoint:${job.parallel.recompute === 'full' ? 'full' : 'none'}`);
  return words;
}

const tomlValue = (value: Value): string => (typeof value === 'string' ? JSON.stringify(value) : `${value}`);

/**
 * The plan as torchtitan v0.2.2 job-config TOML (torchtitan/config/job_config.py of that release): whole sections
 * that merge into the model's train_configs file. v0.2.2 names the batch in sequences and the pipeline micro-batch
 * as a size.
 */
export function torchtitanToml(job: Job): string {
  checked(job, 'torchtitan-toml');
  const { model, parallel: p } = job;
  const settings: Setting[] = [
    // With a pipeline one local batch is split into micro-batches; without one, micro-batches are accumulation steps.
    ['training', 'local_batch_size', p.pp > 1 ? p.globalBatchSize / p.dp : p.microBatchSize],
    ['training', 'global_batch_size', p.globalBatchSize],
    ['training', 'seq_len', model.seqLength],
    ['training', 'mixed_precision_param', 'bfloat16'],
    ...parallelSettings(job),
  ];
  if (p.pp > 1) settings.push(['parallelism', 'pipeline_parallel_microbatch_size', p.microBatchSize]);
  settings.push(['activation_checkpoint', 'mode', p.recompute === 'full' ? 'full' : 'none']);
  if (job.precision === 'fp8') settings.push(['model', 'converters', 'quantize.linear.float8']);
  const sections = new Map<string, string[]>();
  for (const [section, key, value] of settings) {
    const line = key === 'converters' ? `${key} = [${tomlValue(value)}]` : `${key} = ${tomlValue(value)}`;
    sections.set(section, [...(sections.get(section) ?? []), line]);
  }
  return `${[...sections].map(([section, lines]) => [`[${section}]`, ...lines].join('\n')).join('\n\n')}\n`;
}
