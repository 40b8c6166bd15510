/**
 * The native backend: the Node-API addon built from native/ at install time (build/Release/conveyor_native.node),
 * with AVX-512F or AVX2+FMA kernels chosen by the addon from the CPU. Its functions take the facade's typed
 * arrays as they are (kernel memory or not) and check every length against the shape.
 */
import type { KernelBackend } from './backend.js';

type F32 = Float32Array;
type I32 = Int32Array;

/** The addon's exports (native/addon.cpp). */
export interface NativeAddon {
  /** The kernel table the CPU allows ("avx512", "avx2"), or null: then the WebAssembly kernels serve. */
  isa(): string | null;
  /** The thread team size and, optionally, a named table; must run before any kernel. */
  configure(threads: number, table?: string): void;
  tiles(): string[];
  tune(tile: number, mc: number, kc: number, nc: number): void;
  tuning(): { tile: number; mc: number; kc: number; nc: number };
  fmaPeak(iterations: number): { seconds: number; wallSeconds: number; flops: number };
  gemm(out: F32, a: F32, b: F32, M: number, K: number, N: number, flags: number): void;
  fillRowsWithBias(out: F32, bias: F32, N: number, C: number): void;
  biasBackward(dbias: F32, dout: F32, N: number, C: number): void;
  residualForward(out: F32, a: F32, b: F32, n: number): void;
  geluForward(out: F32, derivative: F32, inp: F32, n: number): void;
  geluBackward(dinp: F32, derivative: F32, dout: F32, n: number): void;
  layerNormForward(out: F32, mean: F32, rstd: F32, inp: F32, weight: F32, bias: F32, N: number, C: number): void;
  layerNormBackwardInput(dinp: F32, dout: F32, inp: F32, weight: F32, mean: F32, rstd: F32, N: number, C: number): void;
  layerNormBackwardWeight(dweight: F32, dbias: F32, dout: F32, inp: F32, mean: F32, rstd: F32, N: number, C: number): void;
  softmaxForward(out: F32, inp: F32, rows: number, cols: number, scale: number, causal: boolean): void;
  softmaxBackward(dinp: F32, out: F32, dout: F32, rows: number, cols: number, scale: number, causal: boolean): void;
  crossEntropyForward(probs: F32, logits: F32, targets: I32, N: number, V: number): number;
  crossEntropyBackward(dlogits: F32, probs: F32, targets: I32, N: number, V: number, dLossPerToken: number): void;
  embeddingForward(out: F32, tokens: I32, wte: F32, wpe: F32, B: number, T: number, C: number): void;
  embeddingBackward(dwte: F32, dwpe: F32, dout: F32, tokens: I32, B: number, T: number, C: number): void;
  attentionForward(y: F32, qkvHeads: F32, att: F32, qkv: F32, B: number, T: number, C: number, NH: number): void;
  attentionBackward(dqkv: F32, dy: F32, qkvHeads: F32, att: F32, B: number, T: number, C: number, NH: number): void;
  adamwUpdate(
    param: F32, grad: F32, m: F32, v: F32, n: number, step: number, gradScale: number,
    learningRate: number, beta1: number, beta2: number, epsilon: number, weightDecay: number,
  ): void;
  sumOfSquares(x: F32, n: number): number;
}

/** The addon configured for this thread: `threads` kernel threads on the table `isa`. */
export function createNativeBackend(addon: NativeAddon, isa: string, threads: number): KernelBackend {
  addon.configure(threads, isa);
  return {
    name: `native-${isa}`,
    gemm: addon.gemm,
    fillRowsWithBias: addon.fillRowsWithBias,
    biasBackward: addon.biasBackward,
    residualForward: addon.residualForward,
    geluForward: addon.geluForward,
    geluBackward: addon.geluBackward,
    layerNormForward: addon.layerNormForward,
    layerNormBackwardInput: addon.layerNormBackwardInput,
    layerNormBackwardWeight: addon.layerNormBackwardWeight,
    softmaxForward: addon.softmaxForward,
    softmaxBackward: addon.softmaxBackward,
    crossEntropyForward: addon.crossEntropyForward,
    crossEntropyBackward: addon.crossEntropyBackward,
    embeddingForward: addon.embeddingForward,
    embeddingBackward: addon.embeddingBackward,
    // the native kernels keep their per-thread temporaries themselves: the caller's scratch is not needed
    attentionForward: (y, qkvHeads, att, qkv, _scratch, B, T, C, NH) => addon.attentionForward(y, qkvHeads, att, qkv, B, T, C, NH),
    attentionBackward: (dqkv, dy, qkvHeads, att, _scratch, B, T, C, NH) => addon.attentionBackward(dqkv, dy, qkvHeads, att, B, T, C, NH),
    adamwUpdate: (param, grad, m, v, n, step, gradScale, { learningRate, beta1, beta2, epsilon, weightDecay }) =>
      addon.adamwUpdate(param, grad, m, v, n, step, gradScale, learningRate, beta1, beta2, epsilon, weightDecay),
    sumOfSquares: addon.sumOfSquares,
  };
}
