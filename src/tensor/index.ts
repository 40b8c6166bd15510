/**
 * The kernel facade: everything the layers call, whichever backend this thread runs. Each kernel is
 * forwarded to the backend chosen once per thread (select.ts): native (AVX-512F or AVX2+FMA) where the
 * addon built, WebAssembly SIMD otherwise. Shapes and contracts are documented at the reference
 * implementations in ops/ and in docs/kernels.md. Model state comes from allocFloat32, which both backends
 * read in place.
 */
import type { ElementwiseKernels } from './backend.js';
import { activeKernels } from './select.js';

export { allocFloat32, KERNEL_ALIGNMENT, KERNEL_MEMORY_BYTES, kernelBytesInUse } from './kernel-memory.js';
export { matmul, type MatmulOptions } from './matmul.js';
export {
  activeKernelSettings,
  configureKernels,
  kernelRequestFromEnvironment,
  kernelsName,
  resolveKernelSettings,
  type BackendChoice,
  type KernelRequest,
  type KernelSettings,
} from './select.js';
export type { WasmSource } from './wasm-backend.js';
export type { AdamWHyperparameters } from './ops/adamw.js';
export { attentionScratchLayout, type AttentionScratch } from './ops/attention.js';
export { clipScale } from './ops/grad-norm.js';

/** A function that runs `name` on this thread's backend. */
function forward<Name extends keyof ElementwiseKernels>(name: Name): ElementwiseKernels[Name] {
  return ((...args: unknown[]) => (activeKernels()[name] as (...args: unknown[]) => unknown)(...args)) as ElementwiseKernels[Name];
}

export const fillRowsWithBias = forward('fillRowsWithBias');
export const biasBackward = forward('biasBackward');
export const residualForward = forward('residualForward');
export const geluForward = forward('geluForward');
export const geluBackward = forward('geluBackward');
export const layerNormForward = forward('layerNormForward');
export const layerNormBackwardInput = forward('layerNormBackwardInput');
export const layerNormBackwardWeight = forward('layerNormBackwardWeight');
export const softmaxForward = forward('softmaxForward');
export const softmaxBackward = forward('softmaxBackward');
export const crossEntropyForward = forward('crossEntropyForward');
export const crossEntropyBackward = forward('crossEntropyBackward');
export const embeddingForward = forward('embeddingForward');
export const embeddingBackward = forward('embeddingBackward');
export const attentionForward = forward('attentionForward');
export const attentionBackward = forward('attentionBackward');
export const adamwUpdate = forward('adamwUpdate');
export const sumOfSquares = forward('sumOfSquares');
