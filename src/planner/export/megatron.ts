import { UsageError } from '../../errors.js';
import { layersPerRank } from '../memory.js';
import { moeOf } from '../model.js';
import { contextParallelDegree, expertParallelDegree, type Job } from '../plan.js';
import { engineRefusals } from './refusals.js';

/** What a Megatron-LM launch needs: environment lines and `pretrain_gpt.py` arguments. */
export interface MegatronLaunch {
  /** Shell lines setting the environment, e.g. `export CUDA_DEVICE_MAX_CONNECTIONS=1`. */
  readonly environment: readonly string[];
  /** torchrun's own arguments for this cluster, before the script. */
  readonly launcher: readonly string[];
  readonly args: readonly string[];
}

/** Megatron-FSDP carries ZeRO-2/3; ZeRO-1 is the distributed optimizer. */
const usesFsdp = (job: Job): boolean => job.parallel.zero >= 2;

/**
 * Megatron checks CUDA_DEVICE_MAX_CONNECTIONS before Blackwell (compute capability 10): tensor or context parallelism
 * without FSDP needs 1 (so communication kernels queue ahead of the GEMMs they overlap); Megatron-FSDP refuses 1.
 */
function environment(job: Job): string[] {
  if (usesFsdp(job)) return ['unset CUDA_DEVICE_MAX_CONNECTIONS  # Megatron-FSDP refuses 1'];
  if ((job.parallel.tp > 1 || contextParallelDegree(job.parallel) > 1) && job.gpu.id !== 'b200') return ['export CUDA_DEVICE_MAX_CONNECTIONS=1'];
  return [];
}

/** torchrun's per-node arguments: one process per GPU, the node's rank and the rendezvous host from the environment. */
function launcher(job: Job): string[] {
  const perNode = Math.min(job.gpus, job.gpu.gpusPerNode);
  const nodes = Math.ceil(job.gpus / perNode);
  const args = ['--nproc-per-node', `${perNode}`, '--nnodes', `${nodes}`];
  if (nodes > 1) args.push('--node-rank', '"$NODE_RANK"', '--master-addr', '"$MASTER_ADDR"', '--master-port', '6000');
  return args;
}

function modelArguments(job: Job): string[] {
  const { model } = job;
  const args = [
    '--num-layers', `${model.layers}`,
    '--hidden-size', `${model.hidden}`,
    '--num-attention-heads', `${model.heads}`,
    '--ffn-hidden-size', `${model.ffnHidden}`,
    '--seq-length', `${model.seqLength}`,
    '--max-position-embeddings', `${model.seqLength}`,
  ];
  if (model.kvHeads !== model.heads) args.push('--group-query-attention', '--num-query-groups', `${model.kvHeads}`);
  if (model.architecture === 'llama') {
    args.push('--swiglu', '--normalization', 'RMSNorm', '--position-embedding-type', 'rope', '--disable-bias-linear');
    args.push('--attention-dropout', '0', '--hidden-dropout', '0');
  }
  if (!model.tiedEmbeddings) args.push('--untie-embeddings-and-output-weights');
  if (model.headDim !== undefined && model.headDim !== model.hidden / model.heads) args.push('--kv-channels', `${model.headDim}`);
  const moe = moeOf(model);
  if (moe !== undefined) {
    args.push('--num-experts', `${moe.experts}`, '--moe-router-topk', `${moe.expertsPerToken}`, '--moe-ffn-hidden-size', `${moe.moeFfnHidden}`);
    if (moe.sharedExperts > 0) args.push('--moe-shared-expert-intermediate-size', `${moe.sharedExperts * moe.moeFfnHidden}`);
    // Which layers are MoE, as Megatron's pattern: a 0 for each leading dense layer, then a 1 for each MoE layer.
    const first = model.firstDenseLayers ?? 0;
    if (first > 0) args.push('--moe-layer-freq', `([0]*${first}+[1]*${model.layers - first})`);
    else if ((model.moeLayerFrequency ?? 1) > 1) args.push('--moe-layer-freq', `${model.moeLayerFrequency}`);
  }
  return args;
}

function parallelArguments(job: Job): string[] {
  const { model, parallel } = job;
  const args = ['--tensor-model-parallel-size', `${parallel.tp}`, '--pipeline-model-parallel-size', `${parallel.pp}`];
  const context = contextParallelDegree(parallel);
  if (context > 1) args.push('--context-parallel-size', `${context}`, '--cp-comm-type', parallel.cpCommunication === 'all-to-all' ? 'a2a' : 'p2p');
  if (expertParallelDegree(parallel) > 1) args.push('--expert-model-parallel-size', `${expertParallelDegree(parallel)}`);
  if (parallel.schedule === 'interleaved-1f1b' && parallel.pp > 1) {
    args.push('--num-layers-per-virtual-pipeline-stage', `${model.layers / (parallel.pp * parallel.virtualStages)}`);
  }
  const ranks = layersPerRank(model, parallel.pp);
  if (parallel.pp > 1 && ranks.last !== ranks.first) args.push('--decoder-last-pipeline-num-layers', `${ranks.last}`);
  args.push('--micro-batch-size', `${parallel.microBatchSize}`, '--global-batch-size', `${parallel.globalBatchSize}`);
  if (parallel.recompute === 'full') {
    args.push('--recompute-granularity', 'full', '--recompute-method', 'uniform', '--recompute-num-layers', '1');
  } else if (parallel.recompute === 'selective') {
    args.push('--recompute-granularity', 'selective');
  }
  if (parallel.sequenceParallel && parallel.tp > 1) args.push('--sequence-parallel');
  if (parallel.zero === 1) args.push('--use-distributed-optimizer');
  if (usesFsdp(job)) {
    const strategy = parallel.zero === 2 ? 'optim_grads' : 'optim_grads_params';
    args.push('--use-megatron-fsdp', '--data-parallel-sharding-strategy', strategy, '--use-distributed-optimizer');
    args.push('--ckpt-format', 'fsdp_dtensor');
  }
  if (parallel.overlapGradReduce && parallel.dp > 1) args.push('--overlap-grad-reduce');
  return args;
}

function precisionArguments(job: Job): string[] {
  // --use-flash-attn has had no reader since the legacy transformer went (May 2026); the backend is chosen here.
  const args = ['--attention-backend', job.parallel.flashAttention ? 'flash' : 'unfused'];
  args.push(job.precision === 'fp16' ? '--fp16' : '--bf16');
  if (job.precision === 'fp8') args.push('--fp8-format', 'hybrid');
  if (job.fp32Gradients) args.push('--accumulate-allreduce-grads-in-fp32');
  else if (job.precision !== 'fp16') args.push('--grad-reduce-in-bf16', '--main-grads-dtype', 'bf16');
  return args;
}

/**
 * The plan as a Megatron-LM launch (flags of megatron/training/arguments.py and the TransformerConfig fields it
 * turns into flags). Megatron runs 1F1B, or its interleaved variant when layers per virtual stage are given; the
 * data-parallel size follows from the world size.
 */
export function megatronLaunch(job: Job): MegatronLaunch {
  const refusals = engineRefusals('megatron', job);
  if (refusals.length > 0) throw new UsageError(`${refusals[0]}; re-plan with plan --export megatron`);
  return {
    environment: environment(job),
    launcher: launcher(job),
    args: [...modelArguments(job), ...parallelArguments(job), ...precisionArguments(job)],
  };
}

/** A word as the shell reads it back: quoted when it holds anything but plain characters (e.g. `([0]*3+[1]*58)`). */
const shellWord = (word: string): string => (/^[\w./:=,+-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`);

/** Flags with their values, one per line, continued with backslashes. */
function continuationLines(words: readonly string[]): string[] {
  const lines: string[] = [];
  for (const word of words.map(shellWord)) {
    if (word.startsWith('--') || lines.length === 0) lines.push(word);
    else lines[lines.length - 1] += ` ${word}`;
  }
  return lines;
}

/** The launch as a shell script: environment, then torchrun with pretrain_gpt.py and one flag per line. */
export function formatMegatronLaunch(launch: MegatronLaunch): string {
  const command = [`torchrun ${launch.launcher.join(' ')} pretrain_gpt.py`, ...continuationLines(launch.args).map((line) => `  ${line}`)];
  return [...launch.environment, command.join(' \\\n')].join('\n');
}
