import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = new URL('../../../bin/conveyor.js', import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const folder = mkdtempSync(join(tmpdir(), 'conveyor-planner-'));

const writeJson = (name: string, value: unknown): string => {
  const path = join(folder, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
};

const config = {
  model: { layers: 80, hidden: 8192, heads: 64, kvHeads: 8, ffnHidden: 28672, seqLength: 4096, vocab: 128256 },
  cluster: { gpu: 'h100-sxm', gpus: 64 },
  parallel: { tp: 8, pp: 4, microBatchSize: 1, globalBatchSize: 512, recompute: 'selective', zero: 1 },
};

test('plan prints a ranked table and the best plan; --json carries the estimate fields', () => {
  // --tp and --cp keep these CLI runs short; the search itself is tested in search.test.ts.
  const text = run('plan', '--model', 'llama3-70b', '--gpu', 'h100-sxm', '--gpus', '64', '--global-batch', '512', '--seq-len', '4096', '--top', '3', '--tp', '4,8', '--cp', '1');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /configurations fit/);
  const rows = text.stdout.split('\n').filter((line) => /^\s*[123]\s+\d+\s+\d+\s+\d+/.test(line));
  assert.equal(rows.length, 3);
  assert.match(text.stdout, /headroom/);

  const json = run('plan', '--model', 'llama3-70b', '--gpu', 'h100-sxm', '--gpus', '64', '--global-batch', '512', '--top', '2', '--json', '--tp', '8', '--cp', '1');
  assert.equal(json.status, 0, json.stderr);
  const body = JSON.parse(json.stdout) as { plans: Record<string, unknown>[] };
  assert.equal(body.plans.length, 2);
  for (const key of ['memoryGiB', 'stepTimeS', 'tflopsPerGpu', 'mfu', 'bubbleFraction']) assert.ok(key in body.plans[0]!, key);

  // An export searches only what the engine runs: Megatron has no zero-bubble schedules.
  const megatron = run('plan', '--model', 'llama3-70b', '--gpu', 'h100-sxm', '--gpus', '64', '--global-batch', '512', '--export', 'megatron', '--tp', '8', '--cp', '1');
  assert.equal(megatron.status, 0, megatron.stderr);
  assert.match(megatron.stdout, /--tensor-model-parallel-size \d+ \\\n/);
});

test('estimate --json prints the contract fields; --export prints engine configuration', () => {
  const path = writeJson('config.json', config);
  const result = run('estimate', '--config', path, '--json');
  assert.equal(result.status, 0, result.stderr);
  const body = JSON.parse(result.stdout) as { memoryGiB: Record<string, number> } & Record<string, number>;
  for (const key of ['weights', 'gradients', 'optimizer', 'activations', 'total']) assert.equal(typeof body.memoryGiB[key], 'number', key);
  for (const key of ['stepTimeS', 'tflopsPerGpu', 'mfu', 'bubbleFraction']) assert.equal(typeof body[key], 'number', key);
  assert.ok(body['tflopsPerGpu']! >= body['mfu']! * 989 - 0.1); // recomputation FLOPs count in TFLOP/s, not in MFU

  const megatron = run('estimate', '--config', path, '--export', 'megatron');
  assert.equal(megatron.status, 0, megatron.stderr);
  assert.match(megatron.stdout, /--tensor-model-parallel-size 8/);
  const fullPath = writeJson('full.json', { ...config, parallel: { ...config.parallel, pp: 1, recompute: 'full', sequenceParallel: false } });
  const deepspeed = run('estimate', '--config', fullPath, '--export', 'deepspeed', '--json');
  const files = (JSON.parse(deepspeed.stdout) as { files: { name: string; text: string }[] }).files;
  assert.equal((JSON.parse(files[0]!.text) as Record<string, number>)['train_batch_size'], 512);
  const shardedPath = writeJson('sharded.json', { ...config, parallel: { ...config.parallel, zero: 3, recompute: 'full' } });
  assert.match(run('estimate', '--config', shardedPath, '--export', 'torchtitan').stdout, /pipeline_parallel_degree = 4/);
});

test('explain names the problem and a change with its predicted effect', () => {
  const path = writeJson('oom.json', { ...config, parallel: { ...config.parallel, tp: 2, pp: 2, recompute: 'none', zero: 0 } });
  const result = run('explain', '--config', path);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /over by \d+\.\d GiB/);
  assert.match(result.stdout, /- .+: \d+\.\d GiB of 80\.0 GiB \((fits|does not fit)\), step \d+\.\d+ s \([+-]\d+\.\d%\)/);
});

test('bad input exits 2 with one line naming the mistake', () => {
  const cases: [string[], RegExp][] = [
    [['plan', '--model', 'llama3-70b', '--gpu', 'h100', '--gpus', '64', '--global-batch', '512'], /unknown GPU 'h100'.*h100-sxm/],
    [['plan', '--model', 'llama3-70b', '--gpu', 'h100-sxm', '--gpus', '0', '--global-batch', '512'], /--gpus must be a whole number ≥ 1, got '0'/],
    [['plan', '--model', 'llama9', '--gpu', 'h100-sxm', '--gpus', '8', '--global-batch', '8'], /unknown model 'llama9'/],
    [['plan', '--model', 'llama3-405b', '--gpu', 'a100-40gb', '--gpus', '8', '--global-batch', '64'], /at least \d+ GPUs of that kind/],
    [['estimate', '--config', join(folder, 'missing.json')], /missing\.json does not exist; give an estimate config JSON file/],
    [['estimate', '--config', writeJson('broken.json', '{ "model": ')], /not valid JSON/],
    [['estimate', '--config', writeJson('bad.json', { ...config, parallel: { ...config.parallel, tp: -1 } })], /parallel\.tp/],
    [['estimate', '--config', writeJson('odd.json', { ...config, parallel: { ...config.parallel, tp: 3 } })], /must divide/],
    [['estimate', '--config', writeJson('c.json', config), '--export', 'jax'], /unknown export 'jax'/],
  ];
  for (const [args, message] of cases) {
    const result = run(...args);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, message);
  }
});

test('a search left with nothing names the rule that removed the last candidates', () => {
  const plan = (...extra: string[]) => run('plan', '--model', 'llama3-70b', '--gpu', 'h100-sxm', '--gpus', '64', '--global-batch', '512', ...extra);
  const cases: [string[], RegExp][] = [
    [['--tp', '3'], /tp must divide the 64 GPUs, the 64 heads, the 8 key\/value heads and the FFN width 28672 \(not tp 3\)/],
    [['--tp', '16'], /tp must divide .*the 8 key\/value heads.* \(not tp 16\)/],
    [['--pp', '128'], /pp must leave at least one of the 80 layers on every pipeline rank \(not pp 128\)/],
    [['--tp', '8', '--pp', '8', '--zero', '2,3'], /ZeRO needs more than one data-parallel replica to shard over \(not ZeRO-2 at dp 1, ZeRO-3 at dp 1\)/],
    [['--ep', '2'], /ep above 1 needs a mixture-of-experts model; llama3-70b is dense \(not ep 2\)/],
    [['--tp', '4', '--pp', '8', '--cp', '1', '--global-batch', '72', '--schedule', 'interleaved-1f1b'],
      /interleaved-1f1b needs the micro-batch count to be a multiple of pp \(not 36 micro-batches on pp 8, 18 micro-batches/],
  ];
  for (const [args, message] of cases) {
    const result = plan(...args);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
    assert.doesNotMatch(result.stderr, /multiple of 64/);
  }
});

test('plan --json rows carry cp and ep; gradients are fp32 unless --no-fp32-gradients', () => {
  const base = ['plan', '--model', 'mixtral-8x7b', '--gpu', 'h100-sxm', '--gpus', '16', '--global-batch', '64', '--tp', '1', '--pp', '1', '--zero', '2', '--top', '1', '--json'];
  const rows = (...extra: string[]) => {
    const result = run(...base, ...extra);
    assert.equal(result.status, 0, result.stderr);
    return (JSON.parse(result.stdout) as { plans: Record<string, unknown>[] }).plans;
  };
  const [plan] = rows('--ep', '8', '--cp', '1');
  assert.equal(plan!['ep'], 8);
  assert.equal(plan!['cp'], 1);
  assert.equal((plan!['config'] as { parallel: { ep: number } }).parallel.ep, 8);
  const gradients = (row: Record<string, unknown>) => (row['memoryGiB'] as { gradients: number }).gradients;
  const [sixteenBit] = rows('--ep', '8', '--cp', '1', '--no-fp32-gradients');
  assert.ok(Math.abs(gradients(plan!) / gradients(sixteenBit!) - 2) < 1e-3);
  const help = run('plan', '--help').stdout.replace(/\s+/g, ' ');
  assert.match(help, /--fp32-gradients keep and reduce gradients in fp32 \(18 bytes per parameter; the default for bf16 and fp8\)/);
});

test('the summary and the time table name their bubble figures apart', () => {
  const result = run('estimate', '--config', writeJson('bubble.json', { ...config, parallel: { ...config.parallel, globalBatchSize: 16 } }));
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /time per step +share of the step/);
  assert.match(result.stdout, /the schedule idles \d+\.\d% of the pipeline phase on its worst rank \(the bubble fraction\)/);
});

test('a GPU from a hardware file can be planned on', () => {
  const hardware = writeJson('gpu.json', {
    id: 'my-gpu', peakTflopsBf16: 500, memoryGiB: 96, memoryBandwidthGBs: 3000, intraNodeBandwidthGBs: 400,
    gpusPerNode: 4, interNodeBandwidthGBs: 50,
  });
  const result = run('plan', '--model', 'llama3-8b', '--gpu', 'my-gpu', '--hardware', hardware, '--gpus', '8', '--global-batch', '64', '--json', '--top', '1', '--cp', '1');
  assert.equal(result.status, 0, result.stderr);
  const bad = writeJson('gpu-bad.json', { id: 'x', memoryGiB: 1 });
  const failure = run('plan', '--model', 'llama3-8b', '--gpu', 'x', '--hardware', bad, '--gpus', '8', '--global-batch', '8');
  assert.equal(failure.status, 2);
  assert.match(failure.stderr, /hardware file .*peakTflopsBf16/);
  // A figure that overflows once in bytes would make every result Infinity: refused, naming it.
  const huge = writeJson('gpu-huge.json', { id: 'huge', peakTflopsBf16: 500, memoryGiB: 1e308, memoryBandwidthGBs: 3000, intraNodeBandwidthGBs: 400, gpusPerNode: 4, interNodeBandwidthGBs: 50 });
  const overflow = run('plan', '--model', 'llama3-8b', '--gpu', 'huge', '--hardware', huge, '--gpus', '8', '--global-batch', '64');
  assert.equal(overflow.status, 2, overflow.stdout);
  assert.match(overflow.stderr, /memoryGiB 1e\+308 is beyond any real GPU/);
  assert.doesNotMatch(overflow.stdout, /Infinity/);
});

test('a hardware file may not reuse an id: a catalogue GPU would be shadowed in silence and listed twice', () => {
  const gpu = { peakTflopsBf16: 500, memoryGiB: 80, memoryBandwidthGBs: 3000, intraNodeBandwidthGBs: 400, gpusPerNode: 8, interNodeBandwidthGBs: 50 };
  const shadowing = writeJson('shadow.json', { id: 'h100-sxm', ...gpu });
  const twice = writeJson('twice.json', [{ id: 'mine', ...gpu }, { id: 'mine', ...gpu, memoryGiB: 40 }]);
  const cases: [string, RegExp][] = [
    [shadowing, /^conveyor: hardware file .*shadow\.json: id 'h100-sxm' is a catalogue GPU already; give yours an id of its own \(e\.g\. 'h100-sxm-custom'\) and pass it to --gpu$/m],
    [twice, /^conveyor: hardware file .*twice\.json: id 'mine' is given twice; give each GPU an id of its own$/m],
  ];
  for (const [hardware, expected] of cases) {
    const result = run('plan', '--model', 'llama3-8b', '--gpu', 'h100-sxm', '--hardware', hardware, '--gpus', '8', '--global-batch', '64');
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, expected);
  }
});
