import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../../src/errors.js';
import {
  activeKernelSettings,
  configureKernels,
  kernelRequestFromEnvironment,
  kernelsName,
  resolveKernelSettings,
} from '../../../src/tensor/index.js';

test('CONVEYOR_KERNELS and CONVEYOR_NATIVE_ISA: unset chooses, known values force, anything else is a usage error', () => {
  assert.deepEqual(kernelRequestFromEnvironment({}), {});
  assert.deepEqual(kernelRequestFromEnvironment({ CONVEYOR_KERNELS: '' }), {});
  assert.deepEqual(kernelRequestFromEnvironment({ CONVEYOR_KERNELS: 'wasm' }), { backend: 'wasm' });
  assert.deepEqual(kernelRequestFromEnvironment({ CONVEYOR_KERNELS: 'native' }), { backend: 'native' });
  assert.deepEqual(kernelRequestFromEnvironment({ CONVEYOR_NATIVE_ISA: 'avx2' }), { backend: 'native', isa: 'avx2' });
  assert.throws(() => kernelRequestFromEnvironment({ CONVEYOR_KERNELS: 'gpu' }), {
    name: 'UsageError',
    message: "CONVEYOR_KERNELS must be native or wasm, got 'gpu'",
  });
  assert.throws(() => kernelRequestFromEnvironment({ CONVEYOR_NATIVE_ISA: 'sse2' }), { name: 'UsageError', message: /CONVEYOR_NATIVE_ISA must be one of avx2, avx512, avx512-on-avx2, got 'sse2'/ });
  assert.throws(() => kernelRequestFromEnvironment({ CONVEYOR_KERNELS: 'wasm', CONVEYOR_NATIVE_ISA: 'avx2' }), UsageError);
});

test('thread counts: the WebAssembly kernels take one, a bad count is a usage error', () => {
  assert.deepEqual(resolveKernelSettings({ backend: 'wasm' }), { backend: 'wasm', threads: 1 });
  assert.throws(() => resolveKernelSettings({ backend: 'wasm', threads: 2 }), { name: 'UsageError', message: /--threads 2 needs the native kernels/ });
  for (const threads of [0, 1.5, 257, Number.NaN]) assert.throws(() => resolveKernelSettings({ threads }), { name: 'UsageError', message: /--threads must be a whole number from 1 to 256/ });
  assert.equal(kernelsName({ backend: 'wasm', threads: 1 }), 'wasm-simd128');
  assert.equal(kernelsName({ backend: 'native', threads: 4, isa: 'avx512' }), 'native-avx512');
});

test('the backend is chosen once per thread: the same settings again are fine, others are refused', () => {
  const settings = activeKernelSettings();
  assert.deepEqual(configureKernels(settings), settings);
  const other = settings.backend === 'wasm' ? { backend: 'wasm' as const, threads: 1, isa: 'x' } : { backend: 'wasm' as const };
  assert.throws(() => configureKernels(settings.backend === 'wasm' ? { ...other, backend: 'native' } : other), /chosen once per thread/);
});
