/**
 * Sizes too large for memory are refused before anything is allocated: what the run needs, what there is, and
 * what would fit, in one line (they used to end in "kernel memory is full", V8's heap-out-of-memory abort, or
 * "Invalid typed array length").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { CONFIG_FILE, saveCheckpoint } from '../src/checkpoint/checkpoint.js';
import { checkTrainMemory, KERNEL_SCRATCH_BYTES, largestFitting, memoryProblem, RANK_THREAD_BYTES, trainThreads, type TrainShape } from '../src/cli/memory-check.js';
import { CharTokenizer } from '../src/data/tokenizer.js';
import { UsageError } from '../src/errors.js';
import { buildSegment } from '../src/nn/segment.js';
import type { GPTConfig } from '../src/nn/parameter.js';
import { generateSchedule } from '../src/schedule/index.js';
import { configureKernels, KERNEL_MEMORY_BYTES, kernelBytesInUse, matmul } from '../src/tensor/index.js';
import { conveyorAsync as conveyor } from './conveyor-cli.js';

const refusal = /^conveyor: (the driver \(main thread\)|rank 0 while profiling|eval of the model in .*|sample of the model in .*) needs [\d.]+ GiB of kernel memory \(parameters and gradients [\d.]+ [MG]iB.*\), more than the 4\.00 GiB one thread can address[:;] .*\n$/;

test('train, eval and sample refuse sizes that do not fit, in one line, before allocating', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-memory-'));
  const tokenizer = CharTokenizer.fromText('abc');
  const config: GPTConfig = { vocabSize: 3, blockSize: 4, layers: 1, embd: 4, heads: 1, tied: true };
  const checkpoint = join(dir, 'huge');
  saveCheckpoint(checkpoint, { config, parameters: buildSegment(config, 0).parameters, tokenizer });
  const configJson = JSON.parse(readFileSync(join(checkpoint, CONFIG_FILE), 'utf8'));
  writeFileSync(join(checkpoint, CONFIG_FILE), JSON.stringify({ ...configJson, n_embd: 1e9 }));
  const text = join(dir, 'text.txt');
  writeFileSync(text, 'abcabc');
  const cases: [string[], RegExp][] = [
    [['train', '--layers', '100000'], /: --layers 35 would fit\n$/],
    [['train', '--embd', '1000000'], /would fit\n$/],
    [['train', '--seq-len', '100000'], /--seq-len \d+ would fit\n$/],
    [['train', '--batch-size', '100000'], /: --batch-size 3104 would fit\n$/],
    [['train', '--batch-size', '1000000000'], /--batch-size \d+ would fit\n$/],
    [['eval', '--checkpoint', checkpoint, '--data', text], /only a smaller model would fit\n$/],
    [['sample', '--checkpoint', checkpoint, '--prompt', 'ab'], /only a smaller model would fit\n$/],
  ];
  const results = await Promise.all(cases.map(([args]) => conveyor(args)));
  results.forEach(({ status, stdout, stderr }, i) => {
    const [args, fitting] = cases[i]!;
    assert.equal(status, 2, `${args.join(' ')}: ${stderr}`);
    assert.equal(stdout, '', 'nothing ran');
    assert.match(stderr, refusal);
    assert.match(stderr, fitting);
  });
});

test('sample refuses a --tokens count whose text no string can hold', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-memory-'));
  const config: GPTConfig = { vocabSize: 3, blockSize: 4, layers: 1, embd: 4, heads: 1, tied: true };
  saveCheckpoint(dir, { config, parameters: buildSegment(config, 0).parameters, tokenizer: CharTokenizer.fromText('abc') });
  const { status, stderr } = await conveyor(['sample', '--checkpoint', dir, '--prompt', 'ab', '--tokens', '9999999999']);
  assert.equal(status, 2);
  assert.equal(stderr, 'conveyor: --tokens 9999999999 would make a text longer than the longest string this process can hold (536870888 UTF-16 units): use --tokens 268435442 or fewer\n');
});

test('the suggested size is the largest that fits: one micro-batch more does not', () => {
  const config: GPTConfig = { vocabSize: 13, blockSize: 512, layers: 4, embd: 256, heads: 4, tied: true };
  const schedule = generateSchedule('gpipe', { ranks: 2, microbatches: 4 });
  const shape: TrainShape = { config, batchSize: 4096, seqLen: 512, recompute: false, schedule, replicas: 1, accuracyShapes: [], driverInUse: 0, partition: { starts: [0, 3, 6] } };
  const fits = (batchSize: number) => memoryProblem(trainThreads({ ...shape, batchSize })) === undefined;
  assert.throws(() => checkTrainMemory(shape, { layers: 4, embd: 256, heads: 4, resuming: false }), (error: unknown) => {
    assert.ok(error instanceof UsageError);
    const suggested = Number(/--batch-size (\d+) would fit/.exec(error.message)?.[1]);
    assert.ok(suggested % 4 === 0 && fits(suggested) && !fits(suggested + 4), error.message);
    assert.match(error.message, /^rank 0 needs [\d.]+ GiB of kernel memory .* \(or more --stages\)$/);
    return true;
  });
});

test('largestFitting finds the boundary of any monotone test', () => {
  for (const boundary of [1, 2, 3, 17, 64, 1000]) assert.equal(largestFitting(1000, (value) => value <= boundary), boundary);
  assert.equal(largestFitting(1000, () => false), undefined);
  assert.equal(largestFitting(0, () => true), undefined);
  assert.ok(KERNEL_MEMORY_BYTES > 4 * 2 ** 30 - 2 ** 17);
});

test('the kernels\' own scratch fits the allowance counted for every thread (the WebAssembly GEMM\'s packing scratch)', () => {
  configureKernels({ backend: 'wasm' });
  const before = kernelBytesInUse();
  matmul(new Float32Array(4), new Float32Array(4), new Float32Array(4), 2, 2, 2);
  const scratch = kernelBytesInUse() - before;
  assert.ok(scratch > 0 && scratch <= KERNEL_SCRATCH_BYTES, `${scratch} bytes`);
});

test('every rank thread counts against the machine, so thousands of tiny ranks are refused before one starts', async () => {
  const config: GPTConfig = { vocabSize: 13, blockSize: 16, layers: 1, embd: 16, heads: 1, tied: true };
  const schedule = generateSchedule('gpipe', { ranks: 1, microbatches: 1 });
  const shape = (replicas: number): TrainShape => ({ config, batchSize: 256, seqLen: 16, recompute: false, schedule, replicas, accuracyShapes: [], driverInUse: 0, partition: { starts: [0, 3] } });
  // 16 replicas of this model need well under 1 GiB; 128 need 128 threads' own 16 MiB each, 2 GiB
  assert.equal(memoryProblem(trainThreads(shape(16)), { machineBytes: 2 ** 30 }), undefined);
  assert.match(memoryProblem(trainThreads(shape(128)), { machineBytes: 2 ** 30 }) ?? '', /^the run needs 2\.\d\d GiB of memory in all, more than this machine's 1\.00 GiB$/);
  assert.ok(RANK_THREAD_BYTES >= 12 * 2 ** 20, 'at least the 12 MiB a worker thread was measured to take');

  const args = ['train', '--layers', '1', '--embd', '16', '--heads', '1', '--seq-len', '16', '--batch-size', '65536', '--microbatches', '1', '--replicas', '65536', '--steps', '1'];
  const { status, stdout, stderr } = await conveyor(args);
  assert.equal(status, 2, stderr);
  assert.equal(stdout, '');
  const match = /^conveyor: the run needs \d+ GiB of memory in all, more than this machine's [\d.]+ GiB: --replicas (\d+) would fit\n$/.exec(stderr);
  assert.ok(match, stderr);
  const suggested = Number(match[1]);
  assert.ok(65536 % suggested === 0 && suggested * RANK_THREAD_BYTES < totalmem(), `--replicas ${suggested}`);
});
