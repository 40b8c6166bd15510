import { UsageError } from '../../errors.js';
import { microbatchesPerStep, type Job } from '../plan.js';

/**
 * The plan as a DeepSpeed configuration (keys as parsed by deepspeed/runtime/config.py). DeepSpeed's pipeline
 * engine runs its own 1F1B train schedule and combines only with ZeRO stage 0 or 1; tensor parallelism is AutoTP.
 */
export function deepspeedConfig(job: Job): Record<string, unknown> {
  const { parallel } = job;
  if (parallel.pp > 1 && parallel.schedule !== '1f1b') {
    throw new UsageError(`DeepSpeed's pipeline engine runs 1f1b only, not ${parallel.schedule}; use schedule 1f1b (plan --schedule 1f1b)`);
  }
  if (parallel.pp > 1 && parallel.zero > 1) {
    throw new UsageError(`DeepSpeed pipeline parallelism works with ZeRO stage 0 or 1, not ${parallel.zero}; use ZeRO 0 or 1 (plan --zero 0,1)`);
  }
  if (parallel.recompute === 'selective') {
    throw new UsageError('DeepSpeed has no selective recomputation setting; use recompute none or full (plan --recompute none,full)');
  }
  const config: Record<string, unknown> = {
    train_batch_size: parallel.globalBatchSize,
    train_micro_batch_size_per_gpu: parallel.microBatchSize,
    gradient_accumulation_steps: microbatchesPerStep(parallel),
    bf16: { enabled: job.precision !== 'fp16' },
    fp16: { enabled: job.precision === 'fp16' },
    zero_optimization: { stage: parallel.zero, overlap_comm: parallel.overlapGradReduce },
  };
  if (parallel.pp > 1) {
    config['pipeline'] = {
      stages: parallel.pp,
      partition: 'uniform',
      activation_checkpoint_interval: parallel.recompute === 'full' ? 1 : 0,
    };
  }
  if (parallel.tp > 1) config['tensor_parallel'] = { autotp_size: parallel.tp };
  if (parallel.recompute === 'full') {
    config['activation_checkpointing'] = { partition_activations: parallel.tp > 1, contiguous_memory_optimization: false };
  }
  return config;
}
