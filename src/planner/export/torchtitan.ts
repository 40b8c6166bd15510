import { UsageError } from '../../errors.js';
import type { Job } from '../plan.js';

/** Our schedule names to torch.distributed.pipelining's (the names torchtitan's pipeline_parallel_schedule takes). */
const torchSchedules: Readonly<Record<string, string>> = {
  gpipe: 'GPipe',
  '1f1b': '1F1B',
  'interleaved-1f1b': 'Interleaved1F1B',
  'zb-v': 'ZBVZeroBubble',
};

const tomlValue = (value: string | number | boolean): string => (typeof value === 'string' ? JSON.stringify(value) : `${value}`);

function section(name: string, entries: Record<string, string | number | boolean>): string {
  return [`[${name}]`, ...Object.entries(entries).map(([key, value]) => `${key} = ${tomlValue(value)}`)].join('\n');
}

/**
 * The plan as torchtitan job-config TOML sections (keys of torchtitan/config/job_config.py). torchtitan replicates
 * (DDP, ZeRO-0) or shards with FSDP2: ZeRO-3, or ZeRO-2 when weights stay gathered between forward and backward.
 */
export function torchtitanToml(job: Job): string {
  const { model, parallel } = job;
  const schedule = torchSchedules[parallel.schedule];
  if (parallel.pp > 1 && schedule === undefined) {
    throw new UsageError(
      `torchtitan has no ${parallel.schedule} schedule; use one of its schedules (plan --schedule ${Object.keys(torchSchedules).join(',')})`,
    );
  }
  if (job.precision === 'fp16') {
    throw new UsageError('torchtitan trains in bf16 (mixed_precision_param bfloat16), not fp16; use precision bf16');
  }
  if (parallel.zero === 1) {
    throw new UsageError('torchtitan shards with FSDP2 (ZeRO-2 or 3) or replicates (ZeRO-0); use ZeRO 0, 2 or 3 (plan --zero 0,2,3)');
  }
  const parallelism: Record<string, string | number | boolean> = {
    data_parallel_replicate_degree: parallel.zero === 0 ? parallel.dp : 1,
    data_parallel_shard_degree: parallel.zero === 0 ? 1 : parallel.dp,
    tensor_parallel_degree: parallel.tp,
    pipeline_parallel_degree: parallel.pp,
    context_parallel_degree: 1,
  };
  if (parallel.zero >= 2) parallelism['fsdp_reshard_after_forward'] = parallel.zero === 3 ? 'always' : 'never';
  if (parallel.pp > 1) {
    parallelism['pipeline_parallel_schedule'] = schedule!;
    parallelism['pipeline_parallel_microbatch_size'] = parallel.microBatchSize;
    if (model.layers % (parallel.pp * parallel.virtualStages) === 0) {
      parallelism['pipeline_parallel_layers_per_stage'] = model.layers / (parallel.pp * parallel.virtualStages);
    }
  }
  const checkpoint: Record<string, string | number | boolean> = { mode: parallel.recompute };
  if (parallel.recompute === 'selective') checkpoint['selective_ac_option'] = 'op';
  return [
    `# ${model.name} on ${job.gpus} × ${job.gpu.id}: t=${parallel.tp} p=${parallel.pp} d=${parallel.dp}`,
    section('training', {
      local_batch_size: parallel.globalBatchSize / parallel.dp,
      global_batch_size: parallel.globalBatchSize,
      seq_len: model.seqLength,
      mixed_precision_param: 'bfloat16',
    }),
    section('parallelism', parallelism),
    section('activation_checkpoint', checkpoint),
  ].join('\n\n') + '\n';
}
