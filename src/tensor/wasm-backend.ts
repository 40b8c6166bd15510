/**
 * The WebAssembly backend: the GEMM of wasm/gemm.as.ts (SIMD128) over kernel memory, and the elementwise
 * kernels of ops/ in JavaScript. It runs anywhere WebAssembly does, a browser's Web Worker included, from
 * the module bytes the caller gives (select.ts reads build/gemm.wasm on Node).
 */
import { GEMM_ACCUMULATE, type KernelBackend } from './backend.js';
import { instantiateKernel, kernelAddress, kernelFloat32, scratchAddress, webAssembly, type WasmModule } from './kernel-memory.js';
import { adamwUpdate } from './ops/adamw.js';
import { attentionBackward, attentionForward } from './ops/attention.js';
import { biasBackward, fillRowsWithBias } from './ops/bias.js';
import { crossEntropyBackward, crossEntropyForward } from './ops/cross-entropy.js';
import { embeddingBackward, embeddingForward } from './ops/embedding.js';
import { geluBackward, geluForward } from './ops/gelu.js';
import { sumOfSquares } from './ops/grad-norm.js';
import { layerNormBackwardInput, layerNormBackwardWeight, layerNormForward } from './ops/layernorm.js';
import { residualForward } from './ops/residual.js';
import { softmaxBackward, softmaxForward } from './ops/softmax.js';

/** The bytes of build/gemm.wasm, or that module compiled already (WebAssembly.compileStreaming in a browser). */
export type WasmSource = Uint8Array | ArrayBuffer | WasmModule;

// staged copies start on cache lines, like allocations
const STAGING_ALIGNMENT = 64;

function stagedBytes(length: number): number {
  return Math.ceil((length * 4) / STAGING_ALIGNMENT) * STAGING_ALIGNMENT;
}

function compile(source: WasmSource): WasmModule {
  if (source instanceof Uint8Array) return new webAssembly.Module(source);
  if (source instanceof ArrayBuffer) return new webAssembly.Module(new Uint8Array(source));
  return source;
}

export function createWasmBackend(source: WasmSource): KernelBackend {
  const kernel = instantiateKernel(compile(source), 'gemm');
  const gemm = kernel['gemm']!;
  const packingBytes = kernel['scratchBytes']!();
  return {
    name: 'wasm-simd128',
    /** Arrays from allocFloat32 are used in place; any other Float32Array is copied into scratch and back. */
    gemm(out, a, b, M, K, N, flags) {
      const aLength = M * K;
      const bLength = K * N;
      const outLength = M * N;
      let aAddress = kernelAddress(a);
      let bAddress = kernelAddress(b);
      let outAddress = kernelAddress(out);
      const stagingBytes =
        (aAddress < 0 ? stagedBytes(aLength) : 0) + (bAddress < 0 ? stagedBytes(bLength) : 0) + (outAddress < 0 ? stagedBytes(outLength) : 0);
      const scratch = scratchAddress(packingBytes + stagingBytes);
      let staging = scratch + packingBytes;
      if (aAddress < 0) {
        aAddress = staging;
        kernelFloat32(aAddress, aLength).set(a.subarray(0, aLength));
        staging += stagedBytes(aLength);
      }
      if (bAddress < 0) {
        bAddress = staging;
        kernelFloat32(bAddress, bLength).set(b.subarray(0, bLength));
        staging += stagedBytes(bLength);
      }
      const outStaged = outAddress < 0;
      if (outStaged) {
        outAddress = staging;
        if (flags & GEMM_ACCUMULATE) kernelFloat32(outAddress, outLength).set(out.subarray(0, outLength));
      }
      gemm(outAddress, aAddress, bAddress, M, K, N, flags, scratch);
      if (outStaged) out.set(kernelFloat32(outAddress, outLength));
    },
    fillRowsWithBias,
    biasBackward,
    residualForward,
    geluForward,
    geluBackward,
    layerNormForward,
    layerNormBackwardInput,
    layerNormBackwardWeight,
    softmaxForward,
    softmaxBackward,
    crossEntropyForward,
    crossEntropyBackward,
    embeddingForward,
    embeddingBackward,
    attentionForward,
    attentionBackward,
    adamwUpdate,
    sumOfSquares,
  };
}
