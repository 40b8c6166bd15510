import { UsageError } from '../../errors.js';
import { torchSchedules } from '../export/refusals.js';
import { positiveCount, type ImportedJob } from './imported.js';
import { flagValues, shellStatements } from './shell-words.js';

/** v0.2.2's names and what current torchtitan calls them (configs.py); the old ones are refused now. */
const renamed: Readonly<Record<string, string>> = {
  'training.local_batch_size': 'training.num_tokens_per_microbatch_per_dp_rank (tokens, not sequences)',
  'training.global_batch_size': 'training.num_tokens_per_train_step (tokens)',
  'training.seq_len': 'training.max_context_length',
  'parallelism.pipeline_parallel_microbatch_size': 'parallelism.num_pp_microbatches (a count, not a size)',
  'activation_checkpoint.mode': 'the activation-checkpoint:none|full|selective subcommand',
};

const schedulesByTorchName = new Map(Object.entries(torchSchedules).map(([ours, torch]) => [torch.toLowerCase(), ours]));

/**
 * torchtitan `--section.option value` overrides (and its `activation-checkpoint:` subcommand) read back, for the
 * current names (torchtitan/config/configs.py) and v0.2.2's. The model comes from --model: overrides never carry it.
 */
export function parseTorchtitanOverrides(text: string, source: string, seqLength: number | undefined): ImportedJob {
  const words = shellStatements(text, source).flat();
  const flags = flagValues(words.filter((word) => word.startsWith('--') || !word.includes(':')));
  const findings: string[] = [];
  const value = (name: string): string | true | undefined => flags.get(`--${name}`);
  const count = (name: string): number | undefined => positiveCount(source, `--${name}`, value(name));
  const oldNames = Object.keys(renamed).filter((old) => flags.has(`--${old}`));
  for (const old of oldNames) findings.push(`current torchtitan has no --${old} (v0.2.2's name); it is ${renamed[old]}`);
  const seq = count('training.max_context_length') ?? count('training.seq_len') ?? seqLength;
  const tokens = (name: string): number | undefined => {
    const total = count(name);
    if (total === undefined) return undefined;
    if (seq === undefined || total % seq !== 0) throw new UsageError(`${source}: --${name} ${total} is not a whole number of ${seq ?? '?'}-token sequences`);
    return total / seq;
  };
  const replicate = count('parallelism.data_parallel_replicate_degree') ?? 1;
  const shardText = value('parallelism.data_parallel_shard_degree');
  const shard = shardText === '-1' ? undefined : positiveCount(source, '--parallelism.data_parallel_shard_degree', shardText) ?? undefined;
  const tp = count('parallelism.tensor_parallel_degree') ?? 1;
  const pp = count('parallelism.pipeline_parallel_degree') ?? 1;
  const scheduleText = value('parallelism.pipeline_parallel_schedule');
  const schedule = typeof scheduleText === 'string' ? schedulesByTorchName.get(scheduleText.toLowerCase()) : '1f1b';
  if (schedule === undefined) throw new UsageError(`${source}: the planner has no schedule like ${scheduleText}; it reads ${Object.values(torchSchedules).join(', ')}`);
  const layersPerStage = count('parallelism.pipeline_parallel_layers_per_stage');
  const sharded = shard !== 1;
  const reshard = value('parallelism.fsdp_reshard_after_forward');
  // FSDP2's "default" keeps weights gathered between forward and backward under pipeline parallelism.
  const zero = !sharded ? 0 : reshard === 'never' || (reshard !== 'always' && pp > 1) ? 2 : 3;
  const ac = words.find((word) => word.startsWith('activation-checkpoint:'))?.split(':')[1] ?? 'selective';
  const mode = value('activation_checkpoint.mode') ?? ac;
  if (mode === 'selective') findings.push('torchtitan\'s default SelectiveAC (op-level, every other matmul saved) is not modelled; estimated as no recomputation');
  if (oldNames.length > 0 && !sharded && (tp > 1 || pp > 1)) {
    findings.push('torchtitan v0.2.2, whose names these are, refuses DDP (data_parallel_shard_degree 1) beside tensor or pipeline parallelism ("DDP has not supported > 1D parallelism")');
  }
  if (oldNames.length === 0 && pp > 1 && !flags.has('--training.disable_cuda_graphs')) findings.push('current torchtitan refuses pipeline parallelism unless --training.disable_cuda_graphs is given (CUDA graphs are on by default)');
  if (pp > 1 && layersPerStage !== undefined && !flags.has('--parallelism.pipeline_parallel_first_stage_less_layers')) {
    findings.push('torchtitan counts the embedding and the output as a layer each when it splits by pipeline_parallel_layers_per_stage; set the first/last_stage_less_layers to 0 for equal stages');
  }
  // Layers the embedding (first) and the output (last) count as; 0 is allowed, torchtitan's default is 1.
  const lessLayers = (end: 'first' | 'last'): number => {
    const name = `parallelism.pipeline_parallel_${end}_stage_less_layers`;
    return value(name) === '0' ? 0 : count(name) ?? 1;
  };
  const microTokens = tokens('training.num_tokens_per_microbatch_per_dp_rank');
  const microBatchSize = microTokens ?? (pp > 1 ? count('parallelism.pipeline_parallel_microbatch_size') : count('training.local_batch_size'));
  const globalBatchSize = tokens('training.num_tokens_per_train_step') ?? count('training.global_batch_size');
  const pipelineMicrobatches = count('parallelism.num_pp_microbatches');
  return {
    engine: 'torchtitan',
    ...(seq === undefined ? {} : { model: { seqLength: seq } }),
    parallel: {
      tp, pp, zero, schedule,
      ...((count('parallelism.context_parallel_degree') ?? 1) > 1 ? { cp: count('parallelism.context_parallel_degree')!, cpCommunication: 'ring' as const } : {}),
      ...((count('parallelism.expert_parallel_degree') ?? 1) > 1 ? { ep: count('parallelism.expert_parallel_degree')! } : {}),
      ...(shard === undefined ? {} : { dp: replicate * shard }),
      ...(microBatchSize === undefined ? {} : { microBatchSize }),
      ...(globalBatchSize === undefined ? {} : { globalBatchSize }),
      // Without layers per stage torchtitan puts one stage on each rank for single-stage schedules, two otherwise.
      ...(layersPerStage === undefined ? { virtualStages: schedule === 'gpipe' || schedule === '1f1b' ? 1 : 2 } : {}),
      recompute: mode === 'full' ? 'full' : 'none',
      sequenceParallel: tp > 1 && !flags.has('--parallelism.no-enable_sequence_parallel'),
    },
    // torchtitan/distributed/pipeline_parallel.py: ceil((layers + first_less + last_less) / layers_per_stage) stages.
    ...(layersPerStage === undefined ? {} : {
      chunksPerRank: (layers: number) => Math.ceil((layers + lessLayers('first') + lessLayers('last')) / layersPerStage) / pp,
    }),
    ...(pipelineMicrobatches === undefined || pp === 1 ? {} : { pipelineMicrobatches }),
    fp32Gradients: true,
    findings,
  };
}
