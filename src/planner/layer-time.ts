import { flashSeconds, gemmSeconds, streamSeconds, type Device } from './kernels.js';
import {
  attentionWidth, hasDropout, headDim, mlpInputMatrices, moeOf, qkvWidth, type LayerKind, type ModelShape, type MoeShape,
} from './model.js';
import type { Recompute } from './plan.js';

export interface LayerSettings {
  readonly microBatchSize: number;
  readonly tp: number;
  /** Context-parallel degree: each GPU holds seqLength / cp of every sequence. */
  readonly cp: number;
  /** Expert-parallel degree: each GPU holds experts / ep of a MoE layer's routed experts. */
  readonly ep: number;
  /** Expert tensor-parallel degree: each routed expert's width split over etp GPUs. */
  readonly etp: number;
  readonly sequenceParallel: boolean;
  readonly recompute: Recompute;
  readonly flashAttention: boolean;
  /** Bytes per gradient element the weight-gradient GEMMs accumulate into (2 or 4). */
  readonly gradientBytes: number;
  /** Tensor-parallel collectives split into chunks and run under the GEMMs (Megatron's --tp-comm-overlap). */
  readonly tpCommOverlap?: boolean;
}

/**
 * The busiest expert-parallel rank receives this multiple of the mean routed tokens: the capacity factor 1.25 of
 * GShard and the Switch Transformer (Fedus et al. 2021), which also bounds the imbalance a dropless router sees
 * once its load-balancing loss has settled. Expert activations and expert compute are sized for it.
 */
export const EXPERT_LOAD_FACTOR = 1.25;

/** Seconds one GPU spends on one layer for one micro-batch, by phase, without communication. */
export interface LayerTimes {
  readonly forward: number;
  readonly backward: number;
  /** Forward work repeated before the backward by activation recomputation. */
  readonly recompute: number;
  /** The attention core alone (forward and backward): what context parallelism's K/V exchange hides behind. */
  readonly attentionForward: number;
  readonly attentionBackward: number;
  /** The weight GEMMs alone (forward; backward input and weight gradients): what overlapped tensor-parallel collectives hide behind. */
  readonly gemmForward: number;
  readonly gemmBackward: number;
}

/** A GEMM with weights, as one GPU sees it after tensor splitting: m tokens × k times k × n, `batch` of them. */
interface WeightGemm {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly batch: number;
}

/** Tokens of one micro-batch on one GPU's slice of the sequence. */
export const tokensPerGpu = (model: ModelShape, settings: LayerSettings): number =>
  (settings.microBatchSize * model.seqLength) / settings.cp;

/** Tokens one GPU routes to the experts: its sequence-parallel share, or all of its slice without sequence parallelism. */
export const routingTokensPerGpu = (model: ModelShape, settings: LayerSettings): number =>
  tokensPerGpu(model, settings) / (settings.sequenceParallel ? settings.tp : 1);

/**
 * Token copies one GPU's experts process per micro-batch, sized for the load factor: the etp GPUs sharing an expert's
 * width gather their routed tokens, and each of the e groups receives its share of every group's top-k copies.
 */
export function routedTokensPerGpu(model: ModelShape, moe: MoeShape, settings: LayerSettings): number {
  const gathered = settings.sequenceParallel ? routingTokensPerGpu(model, settings) * settings.etp : tokensPerGpu(model, settings);
  return gathered * moe.expertsPerToken * EXPERT_LOAD_FACTOR;
}

/** An MLP of width f over `tokens`, split over t (column-parallel up and gate, row-parallel down). */
const mlpGemms = (model: ModelShape, tokens: number, f: number, tp: number, batch = 1): WeightGemm[] => [
  { m: tokens, n: (f * mlpInputMatrices(model)) / tp, k: model.hidden, batch },
  { m: tokens, n: model.hidden, k: f / tp, batch },
];

function weightGemms(model: ModelShape, settings: LayerSettings, kind: LayerKind): WeightGemm[] {
  const h = model.hidden;
  const tp = settings.tp;
  const tokens = tokensPerGpu(model, settings);
  const attention: WeightGemm[] = [
    { m: tokens, n: qkvWidth(model) / tp, k: h, batch: 1 }, // fused Q, K, V (column-parallel)
    { m: tokens, n: h, k: attentionWidth(model) / tp, batch: 1 }, // attention output (row-parallel)
  ];
  const moe = moeOf(model);
  if (kind === 'dense' || moe === undefined) return [...attention, ...mlpGemms(model, tokens, model.ffnHidden, tp)];
  const shared = moe.sharedExperts > 0 ? mlpGemms(model, tokens, moe.sharedExperts * moe.moeFfnHidden, tp) : [];
  const router: WeightGemm = { m: routingTokensPerGpu(model, settings), n: moe.experts, k: h, batch: 1 };
  // This GPU's experts / ep experts share its routed copies evenly; their widths are split over etp.
  const localExperts = moe.experts / settings.ep;
  const tokensPerExpert = routedTokensPerGpu(model, moe, settings) / localExperts;
  return [...attention, ...shared, router, ...mlpGemms(model, tokensPerExpert, moe.moeFfnHidden, settings.etp, localExperts)];
}

/**
 * Bytes the memory-bound kernels of one forward move, per token of this GPU's slice: norms, residual adds with bias
 * and dropout, the Q/K/V layout pass, the MLP activation, and (without flash attention) softmax and dropout over the
 * scores; for a MoE layer the router's softmax and top-k, the permutation of tokens to experts and back, and the
 * experts' activation function over the routed copies. Norms and residuals see the full hidden size unless sequence
 * parallelism splits them over t.
 */
function streamBytesPerToken(model: ModelShape, settings: LayerSettings, kind: LayerKind): { bytes: number; kernels: number } {
  const h = model.hidden;
  const t = settings.tp;
  const replicatedShare = settings.sequenceParallel ? 1 / t : 1;
  const dropout = hasDropout(model);
  const norms = 2 * 8 * h; // two norms, read and write 16-bit
  const residuals = 2 * (12 * h + (dropout ? 2 * h : 0)); // (bias +) dropout + add: read two, write one (+ mask)
  const qkvLayout = (4 * qkvWidth(model)) / t;
  const activationBytes = model.architecture === 'llama' ? 6 : 4; // per element of the MLP's width: read (two), write one
  const scores = settings.flashAttention ? 0 : ((dropout ? 9 : 4) * model.heads * model.seqLength) / t;
  const common = (norms + residuals) * replicatedShare + qkvLayout + scores;
  const commonKernels = 6 + (settings.flashAttention ? 0 : dropout ? 2 : 1);
  const moe = moeOf(model);
  if (kind === 'dense' || moe === undefined) {
    return { bytes: common + (activationBytes * model.ffnHidden) / t, kernels: commonKernels + 1 };
  }
  const routedPerToken = routedTokensPerGpu(model, moe, settings) / tokensPerGpu(model, settings);
  const router = 8 * moe.experts * replicatedShare; // fp32 logits written, read by softmax and top-k
  const permute = 2 * 2 * 2 * h * moe.expertsPerToken * replicatedShare; // copy out to experts and back, read + write
  const experts = (activationBytes * moe.moeFfnHidden * routedPerToken) / settings.etp +
    (activationBytes * moe.sharedExperts * moe.moeFfnHidden) / t;
  return { bytes: common + router + permute + experts, kernels: commonKernels + 6 };
}

/** The per-layer kernel times of one micro-batch on one GPU (Megatron-style tensor-parallel block). */
export function layerTimes(model: ModelShape, device: Device, settings: LayerSettings, kind: LayerKind = 'dense'): LayerTimes {
  const t = settings.tp;
  const s = model.seqLength;
  const tokens = tokensPerGpu(model, settings);
  const d = headDim(model);
  const headsPerGpu = (settings.microBatchSize * model.heads) / t;

  let forwardGemms = 0;
  let backwardGemms = 0;
  for (const { m, n, k, batch } of weightGemms(model, settings, kind)) {
    forwardGemms += gemmSeconds(device, m, n, k, batch);
    backwardGemms += gemmSeconds(device, m, k, n, batch); // input gradient
    backwardGemms += gemmSeconds(device, k, n, m, batch, 2 * settings.gradientBytes); // weight gradient, accumulated
  }

  let attentionForward: number;
  let attentionBackward: number;
  if (settings.flashAttention) {
    // The kernel skips the masked half of the square; with context parallelism each GPU takes 1/cp of the causal
    // work (Megatron's load-balanced split of the sequence into 2·cp chunks).
    const causalFlops = (0.5 * 4 * s * s * d * headsPerGpu) / settings.cp;
    attentionForward = flashSeconds(device, causalFlops, false);
    attentionBackward = flashSeconds(device, 2.5 * causalFlops, true); // recomputes scores, then four products
  } else {
    attentionForward = gemmSeconds(device, s, s, d, headsPerGpu) + gemmSeconds(device, s, d, s, headsPerGpu);
    attentionBackward =
      gemmSeconds(device, s, d, s, headsPerGpu) + gemmSeconds(device, d, s, s, headsPerGpu) + // through Q·Kᵀ
      gemmSeconds(device, s, s, d, headsPerGpu) + gemmSeconds(device, s, d, s, headsPerGpu); // through scores·V
  }

  const stream = streamBytesPerToken(model, settings, kind);
  const forwardStream = streamSeconds(device, tokens * stream.bytes, stream.kernels);
  const backwardStream = streamSeconds(device, 2 * tokens * stream.bytes, 2 * stream.kernels); // read saved + grads, write grads

  const forward = forwardGemms + attentionForward + forwardStream;
  let recompute = 0;
  if (settings.recompute === 'full') recompute = forward;
  else if (settings.recompute === 'selective' && !settings.flashAttention) {
    recompute = attentionForward + streamSeconds(device, (tokens * (hasDropout(model) ? 9 : 4) * model.heads * s) / t, 2);
  }
  return {
    forward, backward: backwardGemms + attentionBackward + backwardStream, recompute, attentionForward, attentionBackward,
    gemmForward: forwardGemms, gemmBackward: backwardGemms,
  };
}

/** Output layer and loss on the last rank, one micro-batch: the vocabulary GEMM forward and backward, and the loss. */
export function outputLayerTimes(model: ModelShape, device: Device, settings: LayerSettings): { forward: number; backward: number } {
  const tokens = tokensPerGpu(model, settings);
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
