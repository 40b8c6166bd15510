import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = new URL('../../../bin/conveyor.js', import.meta.url).pathname;
const hf = (name: string): string => new URL(`../../../test/planner/hf-configs/${name}.json`, import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const folder = mkdtempSync(join(tmpdir(), 'conveyor-engines-'));
const write = (name: string, text: string): string => {
  const path = join(folder, name);
  writeFileSync(path, text);
  return path;
};
const plan70b = ['plan', '--model', 'llama3-70b', '--gpu', 'h100-sxm', '--gpus', '64', '--global-batch', '512', '--seq-len', '4096'];

test('plan --export writes what the engine runs; with --json the JSON carries the same files, the plan and what it gave up', () => {
  const text = run(...plan70b, '--export', 'megatron');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^export CUDA_DEVICE_MAX_CONNECTIONS=1$/m);
  assert.match(text.stdout, /--attention-backend flash/);
  assert.doesNotMatch(text.stdout, /--use-flash-attn/);
  assert.match(text.stdout, /# gave up: .*slower than the fastest plan.*Megatron-LM has no zb-h1 schedule/);

  const json = run(...plan70b, '--export', 'megatron', '--json');
  assert.equal(json.status, 0, json.stderr);
  const body = JSON.parse(json.stdout) as {
    engine: string; files: { name: string; text: string }[]; givenUp: string[]; plan: { config: { parallel: { schedule: string } } };
    fastest: { stepTimeS: number }; checkedAgainst: { commit: string };
  };
  assert.equal(body.engine, 'megatron');
  assert.deepEqual(body.files.map((file) => file.name), ['launch.sh']);
  assert.equal(body.files[0]!.text, text.stdout);
  assert.equal(body.plan.config.parallel.schedule, 'interleaved-1f1b');
  assert.equal(body.checkedAgainst.commit.length, 40);
  assert.ok(body.givenUp.length > 0);

  const deepspeed = JSON.parse(run(...plan70b, '--export', 'deepspeed', '--json').stdout) as { files: { name: string; text: string }[] };
  assert.deepEqual(deepspeed.files.map((file) => file.name), ['ds_config.json', 'train.py']);
  assert.equal((JSON.parse(deepspeed.files[0]!.text) as Record<string, number>)['train_batch_size'], 512);
});

test('estimate and explain read an existing job: a Megatron-LM script, torchtitan overrides, a DeepSpeed config', () => {
  const script = write('launch.sh', [
    'torchrun --nproc-per-node 8 --nnodes 8 pretrain_gpt.py \\',
    '  --num-layers 80 --hidden-size 8192 --num-attention-heads 64 --group-query-attention --num-query-groups 8 \\',
    '  --ffn-hidden-size 28672 --seq-length 4096 --swiglu --untie-embeddings-and-output-weights --vocab-size 128256 \\',
    '  --tensor-model-parallel-size 8 --pipeline-model-parallel-size 2 --micro-batch-size 1 --global-batch-size 512 \\',
    '  --sequence-parallel --use-distributed-optimizer --use-flash-attn --bf16',
  ].join('\n'));
  const estimate = run('estimate', '--megatron-args-file', script);
  assert.equal(estimate.status, 0, estimate.stderr);
  assert.match(estimate.stdout, /plan: t=8 p=2 d=4 b=1 1f1b/);
  assert.match(estimate.stdout, /Megatron-LM would refuse or misread these settings:\n\* Megatron-LM ignores --use-flash-attn/);
  const json = JSON.parse(run('estimate', '--megatron-args-file', script, '--json').stdout) as { engineFindings: string[] };
  assert.equal(json.engineFindings.length, 2);

  const explain = run('explain', '--torchtitan-overrides', '--parallelism.tensor_parallel_degree 8 --training.seq_len 4096 --training.local_batch_size 1 --training.global_batch_size 64', '--model', 'llama3-8b', '--gpus', '8');
  assert.equal(explain.status, 0, explain.stderr);
  assert.match(explain.stdout, /torchtitan would refuse or misread these settings:/);
  assert.match(explain.stdout, /v0\.2\.2's name/);

  const ds = write('ds.json', JSON.stringify({ train_batch_size: 512, train_micro_batch_size_per_gpu: 1, gradient_accumulation_steps: 128, bf16: { enabled: true }, zero_optimization: { stage: 1 } }));
  const deepspeed = run('explain', '--deepspeed', ds, '--model', 'llama3-70b', '--seq-len', '4096', '--gpus', '64', '--pp', '4', '--tp', '4');
  assert.equal(deepspeed.status, 0, deepspeed.stderr);
  assert.match(deepspeed.stdout, /512 != 1 \* 128 \* 16/);

  const config = write('c.json', JSON.stringify({ model: 'llama3-8b', cluster: { gpu: 'h100-sxm', gpus: 8 }, parallel: { tp: 2, pp: 1, microBatchSize: 1, globalBatchSize: 64, recompute: 'none' } }));
  assert.match(run('estimate', '--config', config, '--seq-len', '2048').stdout, /global batch 64 × 2048 tokens/);
  assert.match(run('estimate', '--config', config, '--model', hf('mistral'), '--seq-len', '4096').stdout, /^mistral-config on 8 × h100-sxm \(bf16\), global batch 64 × 4096 tokens/m);

  const moePlan = run('plan', '--model', hf('mixtral'), '--gpu', 'h100-sxm', '--gpus', '64', '--global-batch', '256', '--seq-len', '4096', '--export', 'megatron');
  assert.equal(moePlan.status, 0, moePlan.stderr);
  assert.match(moePlan.stdout, /--num-experts 8 \\\n  --moe-router-topk 2/);

  const hfPlan = run('plan', '--model', hf('gpt2'), '--gpu', 'a100-40gb', '--gpus', '8', '--global-batch', '64', '--top', '1', '--json');
  assert.equal(hfPlan.status, 0, hfPlan.stderr);
});

test('bad job sources exit 2 with one line naming the mistake', () => {
  const cases: [string[], RegExp][] = [
    [['estimate'], /give exactly one of --config, --megatron-args/],
    [['estimate', '--megatron-args', '--num-layers 2', '--deepspeed', 'x.json'], /give exactly one of/],
    [['estimate', '--torchtitan-overrides', '--parallelism.tensor_parallel_degree 2', '--gpus', '8'], /does not say the model's layers; give --model/],
    [['estimate', '--megatron-args', '--num-layers two'], /--num-layers must be a positive integer/],
    [['plan', '--model', write('v3.json', JSON.stringify({ model_type: 'deepseek_v3', hidden_size: 7168, kv_lora_rank: 512 })), '--gpu', 'h100-sxm', '--gpus', '8', '--global-batch', '8'], /multi-head latent attention \(kv_lora_rank\)/],
    [['explain', '--deepspeed', join(folder, 'missing.json'), '--model', 'llama3-8b'], /missing\.json does not exist; give a DeepSpeed config/],
  ];
  for (const [args, message] of cases) {
    const result = run(...args);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, message);
  }
});
