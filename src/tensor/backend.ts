/**
 * What a kernel backend provides. The facade (index.ts) forwards every call to the backend this thread
 * chose (select.ts), so the layers never know which one runs. The elementwise signatures are those of the
 * reference implementations in ops/, which the WebAssembly backend uses as they are.
 */
import type { adamwUpdate } from './ops/adamw.js';
import type { attentionBackward, attentionForward } from './ops/attention.js';
import type { biasBackward, fillRowsWithBias } from './ops/bias.js';
import type { crossEntropyBackward, crossEntropyForward } from './ops/cross-entropy.js';
import type { embeddingBackward, embeddingForward } from './ops/embedding.js';
import type { geluBackward, geluForward } from './ops/gelu.js';
import type { sumOfSquares } from './ops/grad-norm.js';
import type { layerNormBackwardInput, layerNormBackwardWeight, layerNormForward } from './ops/layernorm.js';
import type { residualForward } from './ops/residual.js';
import type { softmaxBackward, softmaxForward } from './ops/softmax.js';

/** gemm flags, shared by both backends' kernels. */
export const GEMM_TRANS_A = 1;
export const GEMM_TRANS_B = 2;
export const GEMM_ACCUMULATE = 4;

export interface ElementwiseKernels {
  readonly fillRowsWithBias: typeof fillRowsWithBias;
  readonly biasBackward: typeof biasBackward;
  readonly residualForward: typeof residualForward;
  readonly geluForward: typeof geluForward;
  readonly geluBackward: typeof geluBackward;
  readonly layerNormForward: typeof layerNormForward;
  readonly layerNormBackwardInput: typeof layerNormBackwardInput;
  readonly layerNormBackwardWeight: typeof layerNormBackwardWeight;
  readonly softmaxForward: typeof softmaxForward;
  readonly softmaxBackward: typeof softmaxBackward;
  readonly crossEntropyForward: typeof crossEntropyForward;
  readonly crossEntropyBackward: typeof crossEntropyBackward;
  readonly embeddingForward: typeof embeddingForward;
  readonly embeddingBackward: typeof embeddingBackward;
  readonly attentionForward: typeof attentionForward;
  readonly attentionBackward: typeof attentionBackward;
  readonly adamwUpdate: typeof adamwUpdate;
  readonly sumOfSquares: typeof sumOfSquares;
}

export interface KernelBackend extends ElementwiseKernels {
  /** "wasm-simd128", "native-avx2", "native-avx512": what `train --json` reports as `kernels`. */
  readonly name: string;
  /** out[M,N] (+)= op(a)·op(b) after matmul's checks; flags GEMM_TRANS_A | GEMM_TRANS_B | GEMM_ACCUMULATE. */
  gemm(out: Float32Array, a: Float32Array, b: Float32Array, M: number, K: number, N: number, flags: number): void;
}
