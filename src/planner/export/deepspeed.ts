import { UsageError } from '../../errors.js';
import { microbatchesPerStep, type Job } from '../plan.js';
import { engineRefusals } from './refusals.js';

/** What a DeepSpeed run needs: its JSON configuration and the Python lines that build the model around it. */
export interface DeepspeedRun {
  /** ds_config.json, keys as deepspeed/runtime/config.py reads them. */
  readonly config: Record<string, unknown>;
  /** The lines of the training script that set what the JSON cannot: the pipeline and its topology. */
  readonly python: readonly string[];
}

function jsonConfig(job: Job): Record<string, unknown> {
  const { parallel } = job;
  const config: Record<string, unknown> = {
    train_batch_size: parallel.globalBatchSize,
    train_micro_batch_size_per_gpu: parallel.microBatchSize,
    gradient_accumulation_steps: microbatchesPerStep(parallel),
    bf16: { enabled: job.precision === 'bf16' },
    fp16: { enabled: job.precision === 'fp16' },
    zero_optimization: { stage: parallel.zero, overlap_comm: parallel.overlapGradReduce },
  };
  // Without it DeepSpeed accumulates and reduces gradients in the model's 16-bit type.
  if (job.fp32Gradients) config['data_types'] = { grad_accum_dtype: 'fp32' };
  // Read by the pipeline engine (runtime/pipe/engine.py); `stages` and `partition` would be parsed and never read.
  if (parallel.pp > 1) config['pipeline'] = { activation_checkpoint_interval: parallel.recompute === 'full' ? 1 : 0 };
  if (parallel.tp > 1) config['tensor_parallel'] = { autotp_size: parallel.tp };
  if (parallel.recompute === 'full') {
    config['activation_checkpointing'] = { partition_activations: false, contiguous_memory_optimization: false };
  }
  return config;
}

/** The pipeline's degree and partition live in PipelineModule's arguments, the data-parallel size in its topology. */
function pythonLines(job: Job): string[] {
  const { parallel } = job;
  if (parallel.pp === 1) {
    const lines = ['import deepspeed', ''];
    if (parallel.recompute === 'full') {
      lines.push('# full recomputation: checkpoint every layer in the model\'s forward (deepspeed.checkpointing.checkpoint,');
      lines.push('# or model.gradient_checkpointing_enable() for a Hugging Face model)');
    }
    lines.push('engine, optimizer, _, _ = deepspeed.initialize(model=model, model_parameters=model.parameters(), config="ds_config.json")');
    return lines;
  }
  return [
    'import deepspeed',
    'from deepspeed.pipe import PipelineModule',
    'from deepspeed.runtime.pipe.topology import PipeDataParallelTopology',
    '',
    `topology = PipeDataParallelTopology(num_pp=${parallel.pp}, num_dp=${parallel.dp})`,
    '# layers: the model as a list of LayerSpec (embedding, each transformer layer, norm and output head)',
    'model = PipelineModule(layers=layers, topology=topology, loss_fn=loss_fn, partition_method="uniform",',
    `                       activation_checkpoint_interval=${parallel.recompute === 'full' ? 1 : 0})`,
    'engine, optimizer, _, _ = deepspeed.initialize(model=model, model_parameters=model.parameters(), config="ds_config.json")',
    'loss = engine.train_batch(data_iter=batches)  # one optimizer step over gradient_accumulation_steps micro-batches',
  ];
}

/**
 * The plan as DeepSpeed runs it: the JSON configuration and, because DeepSpeed reads the pipeline degree and the
 * partition from PipelineModule rather than the JSON, the Python lines that build it. Tensor parallelism is AutoTP,
 * which runs without a pipeline only.
 */
export function deepspeedRun(job: Job): DeepspeedRun {
  const refusals = engineRefusals('deepspeed', job);
  if (refusals.length > 0) throw new UsageError(`${refusals[0]}; re-plan with plan --export deepspeed`);
  return { config: jsonConfig(job), python: pythonLines(job) };
}
