import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { UsageError } from '../../src/errors.js';
import {
  exportFiles, findGpu, findPreset, importedConfig, jobFromConfig, megatronLaunch, parseDeepspeedConfig,
  parseMegatronArgs, parseModelFile, parseTorchtitanOverrides, totalParameters, type Job, type ParallelPlan,
} from '../../src/planner/index.js';
import { shellStatements } from '../../src/planner/import/shell-words.js';
import { missingPython, python } from '../python.js';

const configPath = (name: string): URL => new URL(`../../../test/planner/hf-configs/${name}.json`, import.meta.url);
const hfConfig = (name: string): string => readFileSync(configPath(name), 'utf8');

/**
 * Parameters of the model transformers 5.18 builds from each config (AutoModelForCausalLM.from_config on the meta
 * device, summing numel): the configs are that version's defaults (GPT-2 124M, Llama-2 7B, Mistral 7B, Qwen2).
 */
const transformersParameters: Record<string, number> = { gpt2: 124_439_808, llama: 6_738_415_616, mistral: 7_241_732_096, qwen2: 12_049_846_272 };
/** The same count for the MoE configs (Mixtral 8x7B, Qwen2-MoE), from the same transformers. */
const transformersMoeParameters: Record<string, number> = { mixtral: 46_702_792_704, qwen2_moe: 14_315_784_192 };

test('a Hugging Face config.json reads as the model transformers builds from it', () => {
  for (const [name, parameters] of Object.entries(transformersParameters)) {
    const model = parseModelFile(hfConfig(name), `${name}.json`);
    // Qwen2 adds biases to Q, K and V (3h per layer), which the planner's Llama block leaves out.
    const biases = name === 'qwen2' ? model.layers * (model.hidden + 2 * model.kvHeads * (model.hidden / model.heads)) : 0;
    assert.equal(totalParameters(model) + biases, parameters, name);
  }
  const gpt2 = parseModelFile(hfConfig('gpt2'), 'gpt2.json');
  assert.deepEqual([gpt2.architecture, gpt2.layers, gpt2.hidden, gpt2.ffnHidden, gpt2.seqLength, gpt2.tiedEmbeddings], ['gpt', 12, 768, 3072, 1024, true]);
  const mistral = parseModelFile(hfConfig('mistral'), 'mistral.json');
  assert.deepEqual([mistral.architecture, mistral.kvHeads, mistral.seqLength, mistral.tiedEmbeddings], ['llama', 8, 131072, false]);
  // Experts: Mixtral's 8 of intermediate_size, top 2 (transformers: 46,702,792,704 parameters, router included).
  const mixtral = parseModelFile(hfConfig('mixtral'), 'mixtral.json');
  assert.deepEqual([mixtral.experts, mixtral.expertsPerToken, mixtral.moeFfnHidden], [8, 2, 14336]);
  assert.equal(totalParameters(mixtral), transformersMoeParameters['mixtral']);
  // Qwen2-MoE: 60 experts of 1408 and a shared expert of 5632 (four experts' width); transformers counts 14,315,784,192,
  // which adds Q/K/V biases and the shared expert's one-output gate (24 × (3 × 2048 + 2048) = 196,608) to the planner's.
  const qwenMoe = parseModelFile(hfConfig('qwen2_moe'), 'qwen2_moe.json');
  assert.deepEqual([qwenMoe.experts, qwenMoe.expertsPerToken, qwenMoe.moeFfnHidden, qwenMoe.sharedExperts], [60, 4, 1408, 4]);
  assert.equal(totalParameters(qwenMoe) + 24 * (3 * 2048 + 2048), transformersMoeParameters['qwen2_moe']);
  const latent = { model_type: 'deepseek_v3', num_hidden_layers: 61, hidden_size: 7168, num_attention_heads: 128, q_lora_rank: 1536, kv_lora_rank: 512 };
  assert.throws(() => parseModelFile(JSON.stringify(latent), 'v3.json'), /multi-head latent attention \(q_lora_rank, kv_lora_rank\)/);
  const wide = parseModelFile(JSON.stringify({ ...JSON.parse(hfConfig('mistral')), head_dim: 160 }), 'wide.json');
  assert.equal(wide.headDim, 160);
  // Conveyor's own shape still reads as before.
  assert.equal(parseModelFile(JSON.stringify({ layers: 2, hidden: 64, heads: 4, seqLength: 32, vocab: 100 }), 'shape.json').layers, 2);
});

test('the committed configs are what transformers writes, and it builds the models counted above', { skip: missingPython('transformers, torch') }, () => {
  const script = [
    'import json, sys, torch, transformers as t',
    'for name, cls in [("gpt2", t.GPT2Config), ("llama", t.LlamaConfig), ("mistral", t.MistralConfig), ("qwen2", t.Qwen2Config), ("mixtral", t.MixtralConfig), ("qwen2_moe", t.Qwen2MoeConfig)]:',
    '    committed = json.load(open(sys.argv[1] + "/" + name + ".json"))',
    '    config = cls.from_dict(committed)',
    '    with torch.device("meta"): model = t.AutoModelForCausalLM.from_config(config)',
    '    print(name, sum(p.numel() for p in model.parameters()))',
  ].join('\n');
  const result = spawnSync(python, ['-c', script, new URL('../../../test/planner/hf-configs', import.meta.url).pathname], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const counted = Object.fromEntries(result.stdout.trim().split('\n').map((line) => [line.split(' ')[0]!, Number(line.split(' ')[1])]));
  assert.deepEqual(counted, { ...transformersParameters, ...transformersMoeParameters });
});

test('shell words: quotes, escapes, continuations, comments and statements as a shell splits them', () => {
  const text = 'export A=1 # set\nB="two words" torchrun \\\n  --x \'y z\' --q "a\\"b" ; echo $HOME\n';
  assert.deepEqual(shellStatements(text, 's'), [['export', 'A=1'], ['B=two words', 'torchrun', '--x', 'y z', '--q', 'a"b'], ['echo', '$HOME']]);
  assert.throws(() => shellStatements('--x "open', 's'), /quote is never closed/);
});

const job = (parallel: Partial<ParallelPlan>, extra: Partial<Job> = {}): Job => ({
  model: { ...findPreset('llama3-70b'), seqLength: 4096 }, gpu: findGpu('h100-sxm'), gpus: 64, precision: 'bf16', fp32Gradients: true,
  parallel: {
    tp: 4, pp: 4, dp: 4, microBatchSize: 1, globalBatchSize: 512, virtualStages: 1, schedule: '1f1b', recompute: 'none',
    sequenceParallel: true, zero: 1, flashAttention: true, overlapGradReduce: true, ...parallel,
  },
  ...extra,
});

/** The plan a reader recovers from an export, with the model and GPU the export does not always carry. */
function roundTrip(plan: Job, engine: 'megatron' | 'deepspeed' | 'torchtitan'): Job {
  const files = exportFiles(plan, engine);
  const text = (name: string): string => files.find((file) => file.name === name)!.text;
  const imported =
    engine === 'megatron' ? parseMegatronArgs(text('launch.sh'), 'launch.sh')
    : engine === 'deepspeed' ? parseDeepspeedConfig(text('ds_config.json'), 'ds', plan.parallel.tp, plan.parallel.pp, plan.gpus)
    : parseTorchtitanOverrides(/--config llama3_70b (.*)$/m.exec(text('run.sh'))![1]!, 'overrides', plan.model.seqLength);
  assert.deepEqual(imported.findings, [], `${engine} finds nothing wrong in its own export`);
  return jobFromConfig(importedConfig(imported, { source: engine, model: plan.model, gpu: plan.gpu.id, gpus: plan.gpus }), engine);
}

test('each reader gets back the plan its engine\'s export carries', () => {
  const plans: [Job, 'megatron' | 'deepspeed' | 'torchtitan'][] = [
    [job({ schedule: 'interleaved-1f1b', virtualStages: 2 }), 'megatron'],
    [job({ zero: 3, recompute: 'full' }), 'megatron'],
    [job({ tp: 2, pp: 1, dp: 32, zero: 1, recompute: 'full' }, { fp32Gradients: false, precision: 'fp16' }), 'megatron'],
    [job({ tp: 1, pp: 8, dp: 8, sequenceParallel: false, recompute: 'full' }), 'deepspeed'],
    [job({ tp: 8, pp: 1, dp: 8, sequenceParallel: false, zero: 3, recompute: 'full' }), 'deepspeed'],
    [job({ tp: 4, pp: 8, dp: 2, schedule: 'zb-v', virtualStages: 2, zero: 0 }), 'torchtitan'],
    [job({ zero: 3, recompute: 'full', schedule: 'interleaved-1f1b', virtualStages: 4 }), 'torchtitan'],
  ];
  for (const [plan, engine] of plans) {
    const back = roundTrip(plan, engine);
    assert.deepEqual(back.parallel, plan.parallel, engine);
    assert.equal(back.precision, plan.precision, engine);
    assert.equal(back.fp32Gradients, plan.fp32Gradients, engine);
  }
  // Megatron's own flags carry the model: no --model needed.
  const shape = parseMegatronArgs(exportFiles(job({}), 'megatron')[0]!.text, 'launch.sh').model!;
  assert.deepEqual([shape.layers, shape.hidden, shape.heads, shape.kvHeads, shape.ffnHidden, shape.seqLength], [80, 8192, 64, 8, 28672, 4096]);
});

test('readers flag what each engine would refuse in a user\'s own settings', () => {
  const old = parseMegatronArgs(
    'torchrun --nproc-per-node 8 --nnodes 2 pretrain_gpt.py --num-layers 80 --tensor-model-parallel-size 4 --use-flash-attn --bf16 ' +
      '--use-megatron-fsdp --data-parallel-sharding-strategy optim_grads',
    'old.sh',
  );
  assert.equal(old.gpus, 16);
  assert.equal(old.parallel.zero, 2);
  assert.match(old.findings.join('\n'), /ignores --use-flash-attn/);
  assert.match(old.findings.join('\n'), /refused without --ckpt-format fsdp_dtensor/);
  const unset = parseMegatronArgs('pretrain_gpt.py --tensor-model-parallel-size 2 --bf16', 'args');
  assert.match(unset.findings.join('\n'), /CUDA_DEVICE_MAX_CONNECTIONS=1/);
  const set = parseMegatronArgs('export CUDA_DEVICE_MAX_CONNECTIONS=1\ntorchrun --nproc-per-node 8 pretrain_gpt.py --tensor-model-parallel-size 2 --bf16', 'launch');
  assert.deepEqual(set.findings, []);

  const deepspeed = parseDeepspeedConfig(JSON.stringify({
    train_batch_size: 512, train_micro_batch_size_per_gpu: 1, gradient_accumulation_steps: 128, bf16: { enabled: true },
    zero_optimization: { stage: 1 }, pipeline: { stages: 4, partition: 'uniform' }, tensor_parallel: { autotp_size: 4 },
  }), 'ds.json', undefined, 4, 64);
  assert.match(deepspeed.findings.join('\n'), /never reads them/);
  assert.match(deepspeed.findings.join('\n'), /AutoTP .* does not combine with a pipeline/);
  assert.match(deepspeed.findings.join('\n'), /512 != 1 \* 128 \* 16/); // DeepSpeed's own arithmetic: world / pp

  const titan = parseTorchtitanOverrides(
    '--parallelism.tensor_parallel_degree 8 --parallelism.data_parallel_shard_degree 1 --parallelism.data_parallel_replicate_degree 8 ' +
      '--training.local_batch_size 2 --training.global_batch_size 64 --training.seq_len 4096',
    'overrides', undefined,
  );
  assert.equal(titan.parallel.microBatchSize, 2);
  assert.match(titan.findings.join('\n'), /no --training\.local_batch_size \(v0\.2\.2's name\)/);
  assert.match(titan.findings.join('\n'), /refuses DDP/);
  assert.match(titan.findings.join('\n'), /default SelectiveAC/);
  const layout = jobFromConfig(importedConfig(parseTorchtitanOverrides(
    '--parallelism.pipeline_parallel_degree 4 --parallelism.pipeline_parallel_schedule ZBVZeroBubble --parallelism.pipeline_parallel_layers_per_stage 7 ' +
      '--training.num_tokens_per_microbatch_per_dp_rank 4096 --training.num_tokens_per_train_step 2097152 --training.max_context_length 4096 --training.disable_cuda_graphs',
    'overrides', undefined,
  ), { source: 'o', model: findPreset('llama3-70b'), gpu: 'h100-sxm', gpus: 64 }), 'o');
  // torchtitan's rule: ceil((80 + 1 + 1) / 7) = 12 stages, three per rank.
  assert.equal(layout.parallel.virtualStages, 3);
  assert.throws(() => importedConfig(parseTorchtitanOverrides('--parallelism.tensor_parallel_degree 2', 'o', 4096), { source: 'o', gpu: 'h100-sxm', gpus: 8 }), UsageError);
  assert.doesNotThrow(() => megatronLaunch(job({})));
});
