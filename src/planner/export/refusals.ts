import type { Job } from '../plan.js';
import type { ExportEngine } from './sources.js';

/** Our schedule names to torch.distributed.pipelining's (the names torchtitan's pipeline_parallel_schedule takes). */
export const torchSchedules: Readonly<Record<string, string>> = {
  gpipe: 'GPipe',
  '1f1b': '1F1B',
  'interleaved-1f1b': 'Interleaved1F1B',
  'zb-v': 'ZBVZeroBubble',
};

/** torch.distributed.pipelining's schedules with one stage per rank (PipelineScheduleSingle); the rest loop. */
const singleStageSchedules = new Set(['gpipe', '1f1b']);

/** True when the chunks are equal, so an engine can be told "layers per chunk". */
export const equalChunks = (job: Job): boolean => job.model.layers % (job.parallel.pp * job.parallel.virtualStages) === 0;

function megatron(job: Job): string[] {
  const p = job.parallel;
  const found: string[] = [];
  if (p.pp > 1 && p.schedule !== '1f1b' && p.schedule !== 'interleaved-1f1b') {
    found.push(`Megatron-LM has no ${p.schedule} schedule; it runs 1f1b and interleaved-1f1b`);
  }
  if (job.model.firstDenseLayers !== undefined && (job.model.moeLayerFrequency ?? 1) !== 1) {
    found.push('Megatron-LM\'s --moe-layer-freq takes a pattern or a frequency; dense leading layers with a frequency are not written by this export');
  }
  if (p.pp > 1 && p.schedule === 'interleaved-1f1b' && !equalChunks(job)) {
    found.push(
      `Megatron-LM's --num-layers-per-virtual-pipeline-stage needs the ${job.model.layers} layers in ` +
        `p × v = ${p.pp * p.virtualStages} equal chunks`,
    );
  }
  return found;
}

function deepspeed(job: Job): string[] {
  const p = job.parallel;
  const found: string[] = [];
  if (p.pp > 1 && p.tp > 1) {
    found.push(
      `DeepSpeed's AutoTP (tensor_parallel.autotp_size) does not combine with its pipeline engine: AutoTP builds a ` +
        `data × tensor mesh that leaves the pipeline out, so PipelineEngine's data-parallel size check fails; ` +
        `t=${p.tp} with p=${p.pp} needs tensor-parallel layers of your own inside the PipelineModule and ` +
        `PipeModelDataParallelTopology(num_pp=${p.pp}, num_mp=${p.tp}, num_dp=${p.dp}) (as Megatron-DeepSpeed builds)`,
    );
  }
  if (p.pp > 1 && p.schedule !== '1f1b') found.push(`DeepSpeed's pipeline engine runs its own 1f1b train schedule only, not ${p.schedule}`);
  if (p.pp > 1 && p.zero > 1) found.push(`DeepSpeed's pipeline engine refuses ZeRO-${p.zero}; it takes ZeRO 0 or 1`);
  if (p.recompute === 'selective') found.push('DeepSpeed has no selective recomputation; it checkpoints whole layers (full)');
  if (p.tp > 1 && p.sequenceParallel) found.push('DeepSpeed\'s AutoTP has no sequence parallelism');
  if ((p.cp ?? 1) > 1) {
    found.push('DeepSpeed splits sequences only inside the model code (Ulysses\' DistributedAttention with sequence_parallel_size), which this export does not write; use cp 1');
  }
  if ((p.ep ?? 1) > 1) found.push('DeepSpeed\'s expert parallelism (AutoEP, expert_parallel.autoep_size) is not written by this export; use ep 1');
  if (job.precision === 'fp8') found.push('DeepSpeed\'s configuration has no fp8 training setting');
  if (job.fp32Gradients && p.zero === 0) {
    found.push('DeepSpeed accumulates 16-bit gradients in fp32 (data_types.grad_accum_dtype "fp32") only under ZeRO 1-3; without ZeRO it refuses that mix');
  }
  return found;
}

function torchtitan(job: Job, release: 'main' | 'v0.2.2'): string[] {
  const p = job.parallel;
  const found: string[] = [];
  if (p.pp > 1) {
    if (torchSchedules[p.schedule] === undefined) {
      found.push(`torchtitan has no ${p.schedule} schedule; it runs ${Object.keys(torchSchedules).join(', ')}`);
    } else if (singleStageSchedules.has(p.schedule) ? p.virtualStages !== 1 : p.virtualStages < 2) {
      found.push(`torchtitan's ${torchSchedules[p.schedule]} takes ${singleStageSchedules.has(p.schedule) ? 'one stage' : 'at least two stages'} per rank, not ${p.virtualStages}`);
    } else if (!equalChunks(job) && p.virtualStages !== (singleStageSchedules.has(p.schedule) ? 1 : 2)) {
      found.push(`torchtitan splits ${job.model.layers} layers into ${p.pp * p.virtualStages} unequal stages only with its default stages per rank`);
    }
  }
  if ((p.cp ?? 1) > 1 && p.cpCommunication === 'all-to-all') {
    found.push('torchtitan\'s context parallelism is ring attention; the all-to-all (Ulysses-style) exchange is not one of its options');
  }
  const shard = p.zero >= 2 ? p.dp : 1;
  if ((p.ep ?? 1) > 1 && (shard * (p.cp ?? 1) * p.tp) % p.ep! !== 0) {
    found.push(`torchtitan's expert parallelism borrows its ranks from data_parallel_shard_degree × cp × tp = ${shard * (p.cp ?? 1) * p.tp}, which ep ${p.ep} must divide`);
  }
  if (p.zero === 1) found.push('torchtitan has no optimizer-only sharding: FSDP2 shards weights, gradients and optimizer (ZeRO 2 or 3) or replicates (ZeRO 0)');
  if (p.recompute === 'selective') {
    found.push('torchtitan\'s SelectiveAC is op-level (it saves every other matmul), not the attention recomputation the planner models; use none or full');
  }
  if (job.precision === 'fp16') found.push('torchtitan trains in bf16 or fp8 (mixed_precision_param bfloat16), not fp16');
  if (!job.fp32Gradients) found.push('torchtitan reduces gradients in fp32 (mixed_precision_reduce takes float32 only)');
  if (release === 'v0.2.2' && p.tp > 1 && !p.sequenceParallel) {
    found.push('torchtitan v0.2.2 always shards the sequence under tensor parallelism (its job config has no enable_sequence_parallel)');
  }
  if (release === 'v0.2.2' && p.zero === 0 && (p.tp > 1 || p.pp > 1)) {
    found.push('torchtitan v0.2.2 refuses DDP (ZeRO 0) together with tensor or pipeline parallelism ("DDP has not supported > 1D parallelism"); use ZeRO 2 or 3');
  }
  return found;
}

/** Why `engine` would refuse or misread this plan, one sentence per rule; empty when it runs as planned. */
export function engineRefusals(engine: ExportEngine, job: Job): string[] {
  switch (engine) {
    case 'megatron':
      return megatron(job);
    case 'deepspeed':
      return deepspeed(job);
    case 'torchtitan':
      return torchtitan(job, 'main');
    case 'torchtitan-toml':
      return torchtitan(job, 'v0.2.2');
  }
}
