import { UsageError } from '../../errors.js';
import { layersPerRank } from '../memory.js';
import type { Job } from '../plan.js';

/**
 * The plan as Megatron-LM `pretrain_gpt.py` arguments (flag names as in megatron/training/arguments.py).
 * Megatron runs 1F1B, or its interleaved variant when layers per virtual stage are given; the data-parallel size
 * follows from the world size. ZeRO-1 is its distributed optimizer; ZeRO-2/3 are Megatron-FSDP sharding strategies.
 */
export function megatronArguments(job: Job): string[] {
  const { model, parallel } = job;
  if (parallel.pp > 1 && parallel.schedule !== '1f1b' && parallel.schedule !== 'interleaved-1f1b') {
    throw new UsageError(
      `Megatron-LM runs 1f1b or interleaved-1f1b, not ${parallel.schedule}; use one of them (plan --schedule 1f1b,interleaved-1f1b)`,
    );
  }
  const args: string[] = [
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
  args.push(
    '--tensor-model-parallel-size', `${parallel.tp}`,
    '--pipeline-model-parallel-size', `${parallel.pp}`,
  );
  if (parallel.schedule === 'interleaved-1f1b' && parallel.pp > 1) {
    if (model.layers % (parallel.pp * parallel.virtualStages) !== 0) {
      throw new UsageError(
        `Megatron-LM's interleaved schedule needs the ${model.layers} layers to divide into pp × virtualStages = ` +
          `${parallel.pp * parallel.virtualStages} equal chunks; choose virtualStages so that they do`,
      );
    }
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
  if (parallel.zero >= 2) {
    const strategy = parallel.zero === 2 ? 'optim_grads' : 'optim_grads_params';
    args.push('--use-megatron-fsdp', '--data-parallel-sharding-strategy', strategy, '--use-distributed-optimizer');
  }
  if (parallel.overlapGradReduce && parallel.dp > 1) args.push('--overlap-grad-reduce');
  if (parallel.flashAttention) args.push('--use-flash-attn');
  args.push(job.precision === 'fp16' ? '--fp16' : '--bf16');
  if (job.precision === 'fp8') args.push('--fp8-format', 'hybrid');
  if (job.fp32Gradients) args.push('--accumulate-allreduce-grads-in-fp32');
  return args;
}

/** The arguments as a shell continuation block, one flag (with its value) per line. */
export function formatMegatronArguments(args: readonly string[]): string {
  const lines: string[] = [];
  for (const arg of args) {
    if (arg.startsWith('--') || lines.length === 0) lines.push(arg);
    else lines[lines.length - 1] += ` ${arg}`;
  }
  return lines.map((line, i) => `  ${line}${i < lines.length - 1 ? ' \\' : ''}`).join('\n');
}
