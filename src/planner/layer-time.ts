import { flashSeconds, gemmSeconds, streamSeconds, type Device } from './kernels.js';
import { hasDropout, headDim, mlpInputMatrices, qkvWidth, type ModelShape } from './model.js';
import type { Recompute } from './plan.js';

export interface LayerSettings {
  readonly microBatchSize: number;
  readonly tp: number;
  readonly sequenceParallel: boolean;
  readonly recompute: Recompute;
  readonly flashAttention: boolean;
  /** Bytes per gradient element the weight-gradient GEMMs accumulate into (2 or 4). */
  readonly gradientBytes: number;
}

/** Seconds one GPU spends on one layer for one micro-batch, by phase, without tensor-parallel communication. */
export interface LayerTimes {
  readonly forward: number;
  readonly backward: number;
  /** Forward work repeated before the backward by activation recomputation. */
  readonly recompute: number;
}

/** A GEMM with weights, as one GPU sees it after tensor splitting: tokens × k times k × n. */
interface WeightGemm {
  readonly n: number;
  readonly k: number;
}

function weightGemms(model: ModelShape, tp: number): WeightGemm[] {
  const h = model.hidden;
  const f = model.ffnHidden;
  return [
    { n: qkvWidth(model) / tp, k: h }, // fused Q, K, V (column-parallel)
    { n: h, k: (model.heads * headDim(model)) / tp }, // attention output (row-parallel)
    { n: (f * mlpInputMatrices(model)) / tp, k: h }, // MLP up (and gate)
    { n: h, k: f / tp }, // MLP down (row-parallel)
  ];
}

/**
 * Bytes the memory-bound kernels of one forward move, per token: norms, residual adds with bias and dropout,
 * the Q/K/V layout pass, the MLP activation, and (without flash attention) softmax and dropout over the scores.
 * Norms and residuals see the full hidden size unless sequence parallelism splits them over t.
 */
function streamBytesPerToken(model: ModelShape, settings: LayerSettings): { bytes: number; kernels: number } {
  const h = model.hidden;
  const t = settings.tp;
  const replicatedShare = settings.sequenceParallel ? 1 / t : 1;
  const dropout = hasDropout(model);
  const norms = 2 * 8 * h; // two norms, read and write 16-bit
  const residuals = 2 * (12 * h + (dropout ? 2 * h : 0)); // (bias +) dropout + add: read two, write one (+ mask)
  const qkvLayout = (4 * qkvWidth(model)) / t;
  const activation = ((model.architecture === 'llama' ? 6 : 4) * model.ffnHidden) / t;
  const scores = settings.flashAttention ? 0 : ((dropout ? 9 : 4) * model.heads * model.seqLength) / t;
  return {
    bytes: (norms + residuals) * replicatedShare + qkvLayout + activation + scores,
    kernels: 7 + (settings.flashAttention ? 0 : dropout ? 2 : 1),
  };
}

/** The per-layer kernel times of one micro-batch on one GPU (Megatron-style tensor-parallel block). */
export function layerTimes(model: ModelShape, device: Device, settings: LayerSettings): LayerTimes {
  const t = settings.tp;
  const s = model.seqLength;
  const tokens = settings.microBatchSize * s;
  const d = headDim(model);
  const headsPerGpu = (settings.microBatchSize * model.heads) / t;

  let forwardGemms = 0;
  let backwardGemms = 0;
  for (const { n, k } of weightGemms(model, t)) {
    forwardGemms += gemmSeconds(device, tokens, n, k);
    backwardGemms += gemmSeconds(device, tokens, k, n); // input gradient
    backwardGemms += gemmSeconds(device, k, n, tokens, 1, 2 * settings.gradientBytes); // weight gradient, accumulated
  }

  let attentionForward: number;
  let attentionBackward: number;
  if (settings.flashAttention) {
    const causalFlops = 0.5 * 4 * s * s * d * headsPerGpu; // the kernel skips the masked half of the square
    attentionForward = flashSeconds(device, causalFlops, false);
    attentionBackward = flashSeconds(device, 2.5 * causalFlops, true); // recomputes scores, then four products
  } else {
    attentionForward = gemmSeconds(device, s, s, d, headsPerGpu) + gemmSeconds(device, s, d, s, headsPerGpu);
    attentionBackward =
      gemmSeconds(device, s, d, s, headsPerGpu) + gemmSeconds(device, d, s, s, headsPerGpu) + // through Q·Kᵀ
      gemmSeconds(device, s, s, d, headsPerGpu) + gemmSeconds(device, s, d, s, headsPerGpu); // through scores·V
  }

  const stream = streamBytesPerToken(model, settings);
  const forwardStream = streamSeconds(device, tokens * stream.bytes, stream.kernels);
  const backwardStream = streamSeconds(device, 2 * tokens * stream.bytes, 2 * stream.kernels); // read saved + grads, write grads

  const forward = forwardGemms + attentionForward + forwardStream;
  let recompute = 0;
  if (settings.recompute === 'full') recompute = forward;
  else if (settings.recompute === 'selective' && !settings.flashAttention) {
    recompute = attentionForward + streamSeconds(device, (tokens * (hasDropout(model) ? 9 : 4) * model.heads * s) / t, 2);
  }
  return { forward, backward: backwardGemms + attentionBackward + backwardStream, recompute };
}

/** Output layer and loss on the last rank, one micro-batch: the vocabulary GEMM forward and backward, and the loss. */
export function outputLayerTimes(model: ModelShape, device: Device, settings: LayerSettings): { forward: number; backward: number } {
  const tokens = settings.microBatchSize * model.seqLength;
  const vocabShard = model.vocab / settings.tp;
  const loss = streamSeconds(device, tokens * 16 * vocabShard, 4); // fp32 softmax and cross-entropy, forward and back
  return {
    forward: gemmSeconds(device, tokens, vocabShard, model.hidden) + loss / 2,
    backward:
      gemmSeconds(device, tokens, model.hidden, vocabShard) +
      gemmSeconds(device, model.hidden, vocabShard, tokens, 1, 2 * settings.gradientBytes) +
      loss / 2,
  };
}
