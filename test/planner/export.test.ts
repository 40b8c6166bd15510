import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import {
  deepspeedConfig, estimate, findGpu, findPreset, megatronArguments, torchtitanToml, type Job, type ParallelPlan,
} from '../../src/planner/index.js';

const job = (parallel: Partial<ParallelPlan> = {}, model = findPreset('llama3-70b')): Job => ({
  model, gpu: findGpu('h100-sxm'), gpus: 64, precision: 'bf16', fp32Gradients: false,
  parallel: {
    tp: 8, pp: 4, dp: 2, microBatchSize: 2, globalBatchSize: 64, virtualStages: 4, schedule: 'interleaved-1f1b',
    recompute: 'selective', sequenceParallel: true, zero: 1, flashAttention: true, overlapGradReduce: true, ...parallel,
  },
});

/** flag -> value (or true for a bare flag), read back from an argument list. */
function flags(args: readonly string[]): Map<string, string | true> {
  const found = new Map<string, string | true>();
  args.forEach((arg, i) => {
    if (!arg.startsWith('--')) return;
    const next = args[i + 1];
    found.set(arg, next !== undefined && !next.startsWith('--') ? next : true);
  });
  return found;
}

/** A minimal TOML reader for `[section]` and `key = value` lines: section.key -> value. */
function readToml(text: string): Map<string, string | number | boolean> {
  const values = new Map<string, string | number | boolean>();
  let section = '';
  for (const line of text.split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) section = header[1]!;
    const entry = /^(\w+) = (.+)$/.exec(line);
    if (entry) values.set(`${section}.${entry[1]}`, JSON.parse(entry[2]!) as string | number | boolean);
  }
  return values;
}

test('Megatron-LM arguments carry the plan under Megatron flag names', () => {
  const plan = job();
  estimate(plan); // a plan that estimates cleanly
  const args = flags(megatronArguments(plan));
  assert.equal(args.get('--tensor-model-parallel-size'), '8');
  assert.equal(args.get('--pipeline-model-parallel-size'), '4');
  assert.equal(args.get('--num-layers-per-virtual-pipeline-stage'), `${80 / (4 * 4)}`);
  assert.equal(args.get('--micro-batch-size'), '2');
  assert.equal(args.get('--global-batch-size'), '64');
  assert.equal(args.get('--recompute-granularity'), 'selective');
  assert.equal(args.get('--sequence-parallel'), true);
  assert.equal(args.get('--use-distributed-optimizer'), true);
  assert.equal(args.get('--num-layers'), '80');
  assert.equal(args.get('--num-query-groups'), '8');
  assert.equal(args.get('--seq-length'), '8192');
  assert.equal(args.get('--bf16'), true);
  const plain = flags(megatronArguments(job({ schedule: '1f1b', virtualStages: 1, recompute: 'full', zero: 3 })));
  assert.equal(plain.has('--num-layers-per-virtual-pipeline-stage'), false);
  assert.equal(plain.get('--recompute-granularity'), 'full');
  assert.equal(plain.get('--data-parallel-sharding-strategy'), 'optim_grads_params');
  // 126 layers over 16 ranks: fifteen ranks of 8 and a last rank of 6.
  const uneven = flags(megatronArguments({ ...job({ tp: 8, pp: 16, dp: 1, schedule: '1f1b', virtualStages: 1 }, findPreset('llama3-405b')), gpus: 128 }));
  assert.equal(uneven.get('--decoder-last-pipeline-num-layers'), '6');
  assert.throws(() => megatronArguments(job({ schedule: 'zb-v', virtualStages: 2 })), UsageError);
});

test('DeepSpeed configuration holds batch sizes, ZeRO stage and pipeline under DeepSpeed keys', () => {
  const plan = job({ schedule: '1f1b', virtualStages: 1, recompute: 'full', zero: 1 });
  const config = deepspeedConfig(plan) as Record<string, Record<string, unknown> & unknown>;
  assert.equal(config['train_batch_size'], 64);
  assert.equal(config['train_micro_batch_size_per_gpu'], 2);
  assert.equal(config['gradient_accumulation_steps'], 64 / (2 * 2));
  assert.equal((config['zero_optimization'] as Record<string, unknown>)['stage'], 1);
  assert.equal((config['pipeline'] as Record<string, unknown>)['stages'], 4);
  assert.equal((config['pipeline'] as Record<string, unknown>)['activation_checkpoint_interval'], 1);
  assert.equal((config['tensor_parallel'] as Record<string, unknown>)['autotp_size'], 8);
  assert.equal((config['bf16'] as Record<string, unknown>)['enabled'], true);
  assert.throws(() => deepspeedConfig(job({ schedule: '1f1b', virtualStages: 1, zero: 3 })), /ZeRO stage 0 or 1/);
  assert.throws(() => deepspeedConfig(job()), /1f1b only/);
});

test('torchtitan TOML holds the parallel degrees, schedule and batch under its [parallelism] and [training] keys', () => {
  const toml = readToml(torchtitanToml(job({ zero: 3, recompute: 'full' })));
  assert.equal(toml.get('parallelism.tensor_parallel_degree'), 8);
  assert.equal(toml.get('parallelism.pipeline_parallel_degree'), 4);
  assert.equal(toml.get('parallelism.data_parallel_shard_degree'), 2);
  assert.equal(toml.get('parallelism.data_parallel_replicate_degree'), 1);
  assert.equal(toml.get('parallelism.pipeline_parallel_schedule'), 'Interleaved1F1B');
  assert.equal(toml.get('parallelism.pipeline_parallel_microbatch_size'), 2);
  assert.equal(toml.get('parallelism.pipeline_parallel_layers_per_stage'), 5);
  assert.equal(toml.get('training.global_batch_size'), 64);
  assert.equal(toml.get('training.local_batch_size'), 32);
  assert.equal(toml.get('training.seq_len'), 8192);
  assert.equal(toml.get('activation_checkpoint.mode'), 'full');
  const replicated = readToml(torchtitanToml(job({ zero: 0, schedule: 'zb-v', virtualStages: 2 })));
  assert.equal(replicated.get('parallelism.data_parallel_replicate_degree'), 2);
  assert.equal(replicated.get('parallelism.pipeline_parallel_schedule'), 'ZBVZeroBubble');
  assert.throws(() => torchtitanToml(job({ schedule: 'zb-h1', virtualStages: 1 })), /no zb-h1 schedule/);
});

test('interleaving with chunks of unequal size estimates, but Megatron export asks for equal chunks', () => {
  // 80 layers on 4 ranks × 3 chunks: 12 chunks of 6 or 7 layers; Megatron needs layers divisible by pp × v.
  const uneven = job({ virtualStages: 3 });
  assert.doesNotThrow(() => estimate(uneven));
  assert.throws(() => megatronArguments(uneven), (error: unknown) => error instanceof UsageError && /equal chunks/.test(error.message));
  assert.throws(() => estimate(job({ virtualStages: 21 })), (error: unknown) => error instanceof UsageError && /exceed the 80 layers/.test(error.message));
});
