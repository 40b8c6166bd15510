import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateSchedule } from '../../src/schedule/index.js';
import { runTraining, type RunResult } from '../../src/runtime/train.js';
import { resolveKernelSettings, type KernelSettings } from '../../src/tensor/index.js';
import { tinyConfig, tinyCorpus, tinyOptions } from './helpers.js';

const nativeSettings = resolveKernelSettings();
const skip = nativeSettings.backend === 'native' ? false : 'the native kernels are not built here';

async function train(kernels: KernelSettings, stages: number, steps = 10, overrides: Record<string, string> = {}): Promise<RunResult> {
  const options = tinyOptions({ stages: String(stages), steps: String(steps), ...overrides });
  const schedule = generateSchedule('1f1b', { ranks: stages, microbatches: options.microbatches });
  return runTraining({ options, config: tinyConfig(options), schedule, corpus: tinyCorpus(options), start: { step: 0 }, kernels });
}

test('native and WebAssembly kernels train to losses within 1e-5 relative over 10 steps', { skip }, async () => {
  const wasm = await train({ backend: 'wasm', threads: 1 }, 1);
  const native = await train(nativeSettings, 1);
  assert.equal(wasm.kernels, 'wasm-simd128');
  assert.equal(native.kernels, `native-${nativeSettings.isa}`);
  assert.equal(native.steps.length, 10);
  native.steps.forEach((step, i) => {
    const reference = wasm.steps[i]!.loss;
    assert.ok(Math.abs(step.loss - reference) <= 1e-5 * Math.abs(reference), `step ${step.step}: native ${step.loss}, wasm ${reference}`);
  });
  // different summation orders: not the same bits, and the checksum says so
  assert.notEqual(native.paramChecksum, wasm.paramChecksum);
});

test('within each backend the trained model is the same bits on 1, 2 and 3 stages', async () => {
  const backends: KernelSettings[] = [{ backend: 'wasm', threads: 1 }, ...(skip ? [] : [nativeSettings])];
  for (const kernels of backends) {
    const single = await train(kernels, 1, 3);
    for (const stages of [2, 3]) {
      const split = await train(kernels, stages, 3);
      assert.equal(split.paramChecksum, single.paramChecksum, `${kernels.backend} on ${stages} stages`);
    }
  }
});

test('native kernels on 2 threads per rank train the same bits as on 1', { skip }, async () => {
  // wide enough that the products and elementwise kernels are split over the team
  const wider = { embd: '64', seqLen: '32', batchSize: '16', microbatches: '2' };
  const one = await train({ ...nativeSettings, threads: 1 }, 2, 3, wider);
  const two = await train({ ...nativeSettings, threads: 2 }, 2, 3, wider);
  assert.equal(two.kernelThreads, 2);
  assert.equal(two.paramChecksum, one.paramChecksum);
});

test('train refuses a bad CONVEYOR_KERNELS, and --threads above 1 on WebAssembly, in one line with exit code 2', () => {
  const bin = new URL('../../../bin/conveyor.js', import.meta.url).pathname;
  for (const [env, message] of [
    [{ CONVEYOR_KERNELS: 'cuda' }, "conveyor: CONVEYOR_KERNELS must be native or wasm, got 'cuda'\n"],
    [{ CONVEYOR_KERNELS: 'wasm' }, 'conveyor: --threads 2 needs the native kernels; the WebAssembly kernels run on one thread (use --threads 1)\n'],
  ] as const) {
    const run = spawnSync(process.execPath, [bin, 'train', '--steps', '1', '--threads', '2'], { encoding: 'utf8', env: { ...process.env, ...env } });
    assert.equal(run.status, 2, run.stderr);
    assert.equal(run.stderr, message);
  }
});
