import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UsageError } from '../../src/errors.js';
import {
  deepspeedRun, engineRefusals, engineSources, estimate, exportFiles, findGpu, findPreset, megatronLaunch, planForEngine, searchPlans,
  torchtitanConfigFunction, torchtitanOverrides, torchtitanToml, type ExportEngine, type Job, type ParallelPlan,
} from '../../src/planner/index.js';

const job = (parallel: Partial<ParallelPlan> = {}, model = findPreset('llama3-70b'), extra: Partial<Job> = {}): Job => ({
  model, gpu: findGpu('h100-sxm'), gpus: 64, precision: 'bf16', fp32Gradients: true,
  parallel: {
    tp: 8, pp: 4, dp: 2, microBatchSize: 2, globalBatchSize: 64, virtualStages: 4, schedule: 'interleaved-1f1b',
    recompute: 'selective', sequenceParallel: true, zero: 1, flashAttention: true, overlapGradReduce: true, ...parallel,
  },
  ...extra,
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

/**
 * Flags and keys each exporter may write, as read in each engine's code at the commit `engineSources` names and run
 * through the engine's own parser by scripts/engines/check-all.sh (docs/engines.md records what it printed).
 */
const checked = {
  megatron: {
    commit: 'd98e8a64ddf34856e74b24714e3bedb2f5a39553',
    file: 'megatron/training/arguments.py (with TransformerConfig fields turned into flags)',
    words: [
      '--num-layers', '--hidden-size', '--num-attention-heads', '--ffn-hidden-size', '--seq-length', '--max-position-embeddings',
      '--group-query-attention', '--num-query-groups', '--swiglu', '--normalization', '--position-embedding-type',
      '--disable-bias-linear', '--attention-dropout', '--hidden-dropout', '--untie-embeddings-and-output-weights',
      '--tensor-model-parallel-size', '--pipeline-model-parallel-size', '--num-layers-per-virtual-pipeline-stage',
      '--decoder-last-pipeline-num-layers', '--micro-batch-size', '--global-batch-size', '--recompute-granularity',
      '--recompute-method', '--recompute-num-layers', '--sequence-parallel', '--use-distributed-optimizer',
      '--use-megatron-fsdp', '--data-parallel-sharding-strategy', '--ckpt-format', '--overlap-grad-reduce',
      '--attention-backend', '--bf16', '--fp16', '--fp8-format', '--accumulate-allreduce-grads-in-fp32',
      '--grad-reduce-in-bf16', '--main-grads-dtype', '--context-parallel-size', '--cp-comm-type', '--expert-model-parallel-size',
      '--num-experts', '--moe-router-topk', '--moe-ffn-hidden-size', '--moe-shared-expert-intermediate-size', '--moe-layer-freq',
      '--kv-channels',
    ],
  },
  deepspeed: {
    commit: 'edaa7221267243c7be7fb49c5d5f5c4fb97b4641',
    file: 'deepspeed/runtime/config.py, runtime/pipe/engine.py, runtime/zero/config.py, runtime/tensor_parallel/config.py',
    words: [
      'train_batch_size', 'train_micro_batch_size_per_gpu', 'gradient_accumulation_steps', 'bf16.enabled', 'fp16.enabled',
      'zero_optimization.stage', 'zero_optimization.overlap_comm', 'data_types.grad_accum_dtype',
      'pipeline.activation_checkpoint_interval', 'tensor_parallel.autotp_size',
      'activation_checkpointing.partition_activations', 'activation_checkpointing.contiguous_memory_optimization',
    ],
  },
  torchtitan: {
    commit: 'b5bcd76c66d0acb1a08b176d9639425bc55e0b2a',
    file: 'torchtitan/config/configs.py (TrainingConfig, ParallelismConfig), torchtitan/trainer.py (Trainer.Config)',
    words: [
      'training.num_tokens_per_microbatch_per_dp_rank', 'training.num_tokens_per_train_step', 'training.max_context_length',
      'training.mixed_precision_param', 'training.disable_cuda_graphs', 'parallelism.data_parallel_replicate_degree',
      'parallelism.data_parallel_shard_degree', 'parallelism.fsdp_reshard_after_forward', 'parallelism.tensor_parallel_degree',
      'parallelism.enable_sequence_parallel', 'parallelism.pipeline_parallel_degree', 'parallelism.pipeline_parallel_schedule',
      'parallelism.pipeline_parallel_first_stage_less_layers', 'parallelism.pipeline_parallel_last_stage_less_layers',
      'parallelism.pipeline_parallel_layers_per_stage', 'parallelism.num_pp_microbatches', 'activation_checkpoint', 'model_spec',
      'parallelism.context_parallel_degree', 'parallelism.expert_parallel_degree',
    ],
  },
  'torchtitan-toml': {
    commit: '73a0e6979dd10b6b1904098eb3c8f62c18ab87ce',
    file: 'torchtitan/config/job_config.py of v0.2.2',
    words: [
      'training.local_batch_size', 'training.global_batch_size', 'training.seq_len', 'training.mixed_precision_param',
      'parallelism.data_parallel_replicate_degree', 'parallelism.data_parallel_shard_degree',
      'parallelism.fsdp_reshard_after_forward', 'parallelism.tensor_parallel_degree',
      'parallelism.pipeline_parallel_degree', 'parallelism.pipeline_parallel_schedule',
      'parallelism.pipeline_parallel_first_stage_less_layers', 'parallelism.pipeline_parallel_last_stage_less_layers',
      'parallelism.pipeline_parallel_layers_per_stage', 'parallelism.pipeline_parallel_microbatch_size',
      'activation_checkpoint.mode', 'model.converters',
      'parallelism.context_parallel_degree', 'parallelism.expert_parallel_degree',
    ],
  },
} satisfies Record<ExportEngine, { commit: string; file: string; words: string[] }>;

/** Dotted key paths of a JSON object's leaves. */
const leafKeys = (value: unknown, prefix = ''): string[] =>
  typeof value === 'object' && value !== null
    ? Object.entries(value).flatMap(([key, inner]) => leafKeys(inner, prefix === '' ? key : `${prefix}.${key}`))
    : [prefix];

/** section.key of `[section]` / `key = value` TOML lines, with their values. */
function readToml(text: string): Map<string, unknown> {
  const values = new Map<string, unknown>();
  let section = '';
  for (const line of text.split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) section = header[1]!;
    const entry = /^(\w+) = (.+)$/.exec(line);
    if (entry) values.set(`${section}.${entry[1]}`, JSON.parse(entry[2]!));
  }
  return values;
}

/** section.key = value lines of the torchtitan config function. */
function readConfigFunction(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const match of text.matchAll(/^ {4}config\.([\w.]+) = (.+)$/gm)) values.set(match[1]!, match[2]!);
  return values;
}

/** Plans of every kind the search produces: layouts, schedules, recomputation, ZeRO, precision, models. */
const plans = fc.record({
  model: fc.constantFrom('llama3-70b', 'llama3-8b', 'gpt3-175b', 'llama3-405b', 'megatron-1.7b', 'mixtral-8x7b', 'deepseek-v3-like', 'qwen3-30b-a3b'),
  cp: fc.constantFrom(1, 2),
  ep: fc.constantFrom(1, 2, 4),
  ring: fc.boolean(),
  tp: fc.constantFrom(1, 2, 4, 8),
  pp: fc.constantFrom(1, 2, 4, 8),
  dp: fc.constantFrom(1, 2, 4),
  microBatchSize: fc.constantFrom(1, 2),
  schedule: fc.constantFrom('1f1b', 'gpipe', 'interleaved-1f1b', 'zb-v', 'zb-h1'),
  virtualStages: fc.constantFrom(1, 2, 3),
  recompute: fc.constantFrom('none', 'selective', 'full'),
  zero: fc.constantFrom(0, 1, 2, 3),
  precision: fc.constantFrom('bf16', 'fp16', 'fp8'),
  fp32Gradients: fc.boolean(),
  sequenceParallel: fc.boolean(),
  gpu: fc.constantFrom('h100-sxm', 'b200'),
}).map((drawn): Job => {
  const model = findPreset(drawn.model);
  return {
    model, gpu: findGpu(drawn.gpu), gpus: drawn.tp * drawn.pp * drawn.dp * drawn.cp, precision: drawn.precision as Job['precision'],
    fp32Gradients: drawn.fp32Gradients,
    parallel: {
      tp: drawn.tp, pp: drawn.pp, dp: drawn.dp, microBatchSize: drawn.microBatchSize, globalBatchSize: 64 * drawn.dp,
      virtualStages: drawn.virtualStages, schedule: drawn.schedule, recompute: drawn.recompute as ParallelPlan['recompute'],
      sequenceParallel: drawn.sequenceParallel && drawn.tp > 1, zero: drawn.zero as ParallelPlan['zero'],
      flashAttention: true, overlapGradReduce: true,
      ...(drawn.cp > 1 ? { cp: drawn.cp, cpCommunication: drawn.ring ? 'ring' : 'all-to-all' } : {}),
      ...(drawn.ep > 1 && model.experts !== undefined ? { ep: drawn.ep } : {}),
    },
  };
});

/** What `write` returns, or undefined when it refuses the plan with a UsageError. */
function unlessRefused<T>(write: () => T): T | undefined {
  try {
    return write();
  } catch (error) {
    if (error instanceof UsageError) return undefined;
    throw error;
  }
}

/** The flags or keys one export writes, in the form `checked` lists them; undefined when the engine refuses the plan. */
function writtenWords(engine: ExportEngine, plan: Job): string[] | undefined {
  switch (engine) {
    case 'megatron':
      return unlessRefused(() => megatronLaunch(plan).args.filter((word) => word.startsWith('--')));
    case 'deepspeed':
      return unlessRefused(() => leafKeys(deepspeedRun(plan).config));
    case 'torchtitan':
      return unlessRefused(() => [...readConfigFunction(torchtitanConfigFunction(plan)).keys()]);
    case 'torchtitan-toml':
      return unlessRefused(() => [...readToml(torchtitanToml(plan)).keys()]);
  }
}

test('every flag and key an export writes is one read in the engine code at the commit engineSources records', () => {
  for (const engine of Object.keys(checked) as ExportEngine[]) {
    assert.equal(engineSources[engine].commit, checked[engine].commit, `${engine}: re-check the flags against the new commit`);
  }
  fc.assert(
    fc.property(plans, (plan) => {
      for (const engine of Object.keys(checked) as ExportEngine[]) {
        const words = writtenWords(engine, plan);
        assert.equal(words === undefined, engineRefusals(engine, plan).length > 0, `${engine}: refuses exactly what engineRefusals names`);
        for (const word of words ?? []) assert.ok((checked[engine].words as readonly string[]).includes(word), `${engine} wrote unchecked ${word}`);
      }
    }),
    { numRuns: 300 },
  );
});

test('Megatron-LM: the environment its checks demand, the attention backend switch, and Megatron-FSDP checkpoints', () => {
  const plain = megatronLaunch(job({ schedule: '1f1b', virtualStages: 1, recompute: 'full' }));
  assert.deepEqual(plain.environment, ['export CUDA_DEVICE_MAX_CONNECTIONS=1']); // tp > 1 without FSDP, before Blackwell
  const args = flags(plain.args);
  assert.equal(args.get('--attention-backend'), 'flash');
  assert.equal(args.has('--use-flash-attn'), false); // parsed, but nothing reads it since the legacy transformer went
  assert.equal(args.get('--tensor-model-parallel-size'), '8');
  assert.equal(args.get('--recompute-granularity'), 'full');
  assert.deepEqual(plain.launcher.slice(0, 4), ['--nproc-per-node', '8', '--nnodes', '8']);

  const fsdp = megatronLaunch(job({ schedule: '1f1b', virtualStages: 1, zero: 3 }));
  assert.match(fsdp.environment[0]!, /^unset CUDA_DEVICE_MAX_CONNECTIONS/); // Megatron-FSDP refuses 1
  assert.equal(flags(fsdp.args).get('--ckpt-format'), 'fsdp_dtensor');
  assert.equal(flags(fsdp.args).get('--data-parallel-sharding-strategy'), 'optim_grads_params');
  const blackwell = megatronLaunch({ ...job({ schedule: '1f1b', virtualStages: 1 }), gpu: findGpu('b200') });
  assert.deepEqual(blackwell.environment, []);
  const tensorFree = megatronLaunch(job({ tp: 1, dp: 16, sequenceParallel: false, schedule: '1f1b', virtualStages: 1 }));
  assert.deepEqual(tensorFree.environment, []);

  const interleaved = flags(megatronLaunch(job()).args);
  assert.equal(interleaved.get('--num-layers-per-virtual-pipeline-stage'), `${80 / (4 * 4)}`);
  // 126 layers over 16 ranks: fifteen ranks of 8 and a last rank of 6.
  const uneven = megatronLaunch({ ...job({ tp: 8, pp: 16, dp: 1, schedule: '1f1b', virtualStages: 1 }, findPreset('llama3-405b')), gpus: 128 });
  assert.equal(flags(uneven.args).get('--decoder-last-pipeline-num-layers'), '6');
  const halfGradients = flags(megatronLaunch(job({}, undefined, { fp32Gradients: false })).args);
  assert.equal(halfGradients.get('--main-grads-dtype'), 'bf16');
  assert.equal(halfGradients.has('--accumulate-allreduce-grads-in-fp32'), false);
  assert.throws(() => megatronLaunch(job({ schedule: 'zb-v', virtualStages: 2 })), /no zb-v schedule/);
  assert.throws(() => megatronLaunch(job({ virtualStages: 3 })), /equal chunks/);
});

test('DeepSpeed: its batch arithmetic holds, the pipeline degree is in PipelineModule, and it refuses what it cannot run', () => {
  fc.assert(
    fc.property(plans, (plan) => {
      const run = unlessRefused(() => deepspeedRun(plan));
      if (run === undefined) return;
      const config = run.config as Record<string, number> & Record<string, Record<string, unknown>>;
      const p = plan.parallel;
      // DeepSpeedConfig._batch_assertion with world_size = the data-parallel size its mpu reports: world / pp for the
      // pipeline engine's default topology, world / tp for AutoTP's mesh. Exactly one of the two is above 1.
      const dataParallel = p.pp > 1 ? plan.gpus / p.pp : plan.gpus / p.tp;
      assert.equal(config['train_batch_size'], config['train_micro_batch_size_per_gpu']! * config['gradient_accumulation_steps']! * dataParallel);
      assert.equal(p.pp > 1 && p.tp > 1, false);
      assert.equal('stages' in (config['pipeline'] ?? {}), false); // parsed, never read
      assert.equal(config['data_types']?.['grad_accum_dtype'], plan.fp32Gradients ? 'fp32' : undefined);
      assert.equal(run.python.some((line) => line.includes(`PipeDataParallelTopology(num_pp=${p.pp}, num_dp=${p.dp})`)), p.pp > 1);
      assert.notEqual(plan.precision, 'fp8');
    }),
    { numRuns: 300 },
  );
  assert.throws(() => deepspeedRun(job({ schedule: '1f1b', virtualStages: 1, recompute: 'full', sequenceParallel: false })), /AutoTP .* does not combine with its pipeline/);
  assert.throws(() => deepspeedRun(job({ tp: 8, pp: 1, dp: 8, sequenceParallel: false, recompute: 'full' }, undefined, { precision: 'fp8' })), /no fp8/);
  assert.throws(() => deepspeedRun(job({ tp: 1, pp: 4, dp: 16, schedule: '1f1b', virtualStages: 1, sequenceParallel: false, recompute: 'full', zero: 0 })), /only under ZeRO/);
});

test('torchtitan: stage counts by its own rule, token budgets, and activation checkpointing said explicitly', () => {
  fc.assert(
    fc.property(plans, (plan) => {
      const source = unlessRefused(() => torchtitanConfigFunction(plan));
      if (source === undefined) return;
      const values = readConfigFunction(source);
      const p = plan.parallel;
      const number = (key: string): number => Number(values.get(key));
      if (p.pp > 1 && values.has('parallelism.pipeline_parallel_layers_per_stage')) {
        // torchtitan/distributed/pipeline_parallel.py: ceil((layers + first_less + last_less) / layers_per_stage) stages.
        const stages = Math.ceil(
          (plan.model.layers + number('parallelism.pipeline_parallel_first_stage_less_layers') +
            number('parallelism.pipeline_parallel_last_stage_less_layers')) / number('parallelism.pipeline_parallel_layers_per_stage'),
        );
        assert.equal(stages, p.pp * p.virtualStages);
      }
      // trainer.py: accumulation steps = tokens per step / (tokens per micro-batch × pipeline micro-batches × dp).
      const pipelineMicrobatches = p.pp > 1 ? number('parallelism.num_pp_microbatches') : 1;
      const accumulation = number('training.num_tokens_per_train_step') /
        (number('training.num_tokens_per_microbatch_per_dp_rank') * pipelineMicrobatches * p.dp);
      assert.equal(accumulation * pipelineMicrobatches, p.globalBatchSize / (p.dp * p.microBatchSize));
      assert.equal(values.get('activation_checkpoint'), p.recompute === 'full' ? 'FullAC.Config()' : 'None'); // Selective is the default
      assert.equal(values.get('training.disable_cuda_graphs'), p.pp > 1 ? 'True' : undefined);
    }),
    { numRuns: 300 },
  );
  const overrides = torchtitanOverrides(job({ zero: 3, recompute: 'full' }));
  assert.equal(overrides.at(-1), 'activation-checkpoint:full');
  assert.equal(overrides[overrides.indexOf('--parallelism.num_pp_microbatches') + 1], `${64 / (2 * 2)}`);
  // torchtitan's own llama3_405b() trains in fp8: a bf16 plan rebuilds the model without converters, and has no overrides form.
  const big = { ...job({ tp: 8, pp: 16, dp: 1, schedule: '1f1b', virtualStages: 1, recompute: 'full', zero: 0 }, findPreset('llama3-405b')), gpus: 128 };
  assert.match(torchtitanConfigFunction(big), /config\.model_spec = model_registry\("405B", converters=\[\]\)/);
  assert.throws(() => torchtitanOverrides(big), /cannot set the model's converters/);
  assert.doesNotMatch(exportFiles(big, 'torchtitan')[1]!.text, /--module llama3/);
  assert.throws(() => torchtitanConfigFunction(job({ schedule: 'zb-h1', virtualStages: 1 })), /no zb-h1 schedule/);
  assert.throws(() => torchtitanConfigFunction(job({ zero: 1, recompute: 'full' })), /no optimizer-only sharding/);
});

test('torchtitan v0.2.2 TOML: sequences and micro-batch sizes, and no DDP beside tensor or pipeline parallelism', () => {
  const toml = readToml(torchtitanToml(job({ zero: 3, recompute: 'full' })));
  assert.equal(toml.get('parallelism.pipeline_parallel_microbatch_size'), 2);
  assert.equal(toml.get('training.local_batch_size'), 32);
  assert.equal(toml.get('parallelism.pipeline_parallel_layers_per_stage'), 5);
  assert.equal(toml.get('parallelism.pipeline_parallel_first_stage_less_layers'), 0);
  assert.equal(toml.get('activation_checkpoint.mode'), 'full');
  const noPipeline = readToml(torchtitanToml(job({ tp: 8, pp: 1, dp: 8, zero: 2, recompute: 'full' })));
  assert.equal(noPipeline.get('training.local_batch_size'), 2); // micro-batches are accumulation steps
  assert.throws(() => torchtitanToml(job({ zero: 0, recompute: 'full' })), /v0\.2\.2 refuses DDP/);
  assert.doesNotThrow(() => torchtitanConfigFunction(job({ zero: 0, recompute: 'full' }))); // current torchtitan replicates through FSDP
});

test('each engine gets the fastest plan it runs: a brute force over every fitting plan agrees', () => {
  const model = findPreset('llama2-7b');
  const request = { model: { ...model, seqLength: 2048 }, gpu: findGpu('a100-40gb'), gpus: 16, globalBatchSize: 64 };
  // Every configuration that fits, with the fp32 gradients asked for, or in 16 bits where the engine refuses fp32 ones.
  const asked = searchPlans({ ...request, fp32Gradients: true, top: 1e6 }).plans;
  const halved = searchPlans({ ...request, fp32Gradients: false, top: 1e6 }).plans;
  for (const engine of Object.keys(checked) as ExportEngine[]) {
    const choice = planForEngine(request, engine);
    assert.deepEqual(engineRefusals(engine, choice.chosen.job), []);
    const runs = (plan: Job): boolean => engineRefusals(engine, plan).length === 0;
    const candidates = [...asked, ...halved.filter((plan) => !runs({ ...plan.job, fp32Gradients: true }))];
    const best = Math.min(...candidates.filter((plan) => runs(plan.job)).map((plan) => plan.stepTimeS));
    assert.equal(choice.chosen.stepTimeS, best, engine);
    assert.equal(estimate(choice.chosen.job).stepTimeS, choice.chosen.stepTimeS);
    if (choice.chosen.stepTimeS > choice.fastest.stepTimeS) assert.match(choice.givenUp.join(' '), /slower than the fastest plan/);
  }
});
