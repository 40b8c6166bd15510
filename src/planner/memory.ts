import { embeddingParameters, hasDropout, headDim, layerParameters, mlpInputMatrices, type ModelShape } from './model.js';
import type { ParallelPlan, Recompute, ZeroStage } from './plan.js';

export interface ActivationOptions {
  readonly sequenceParallel: boolean;
  readonly recompute: Recompute;
  readonly flashAttention: boolean;
}

/**
 * Bytes of 16-bit activations one layer stashes for its backward, per micro-batch, per GPU — Korthikanti et al.
 * 2022 §4: s·b·h·(10 + 24/t + 5·a·s/(h·t)) for a GPT block under tensor parallelism, 34/t + 5as/(ht) with sequence
 * parallelism, the a·s² term gone under selective recomputation (or flash attention), 2·s·b·h (/t with sequence
 * parallelism) under full recomputation. Generalised term by term to grouped-query attention and SwiGLU.
 */
export function activationBytesPerLayer(model: ModelShape, microBatchSize: number, tp: number, options: ActivationOptions): number {
  const sbh = model.seqLength * microBatchSize * model.hidden;
  const replicatedShare = options.sequenceParallel ? 1 / tp : 1; // LayerNorm/dropout region, split only with SP
  if (options.recompute === 'full') return 2 * sbh * replicatedShare; // only the layer's input survives
  const sb = model.seqLength * microBatchSize;
  const dropoutMasks = hasDropout(model) ? 2 * sbh : 0; // 1 byte per element after attention and after the MLP
  // Two norm inputs and two norm outputs (the Q/K/V and MLP inputs), 2 bytes each.
  const replicated = 8 * sbh + dropoutMasks;
  const qkv = 2 * sb * (model.heads + 2 * model.kvHeads) * headDim(model);
  const attentionOutput = 2 * sbh; // input of the output projection
  const f = model.ffnHidden;
  const mlp = 2 * sb * f * mlpInputMatrices(model) + 2 * sb * f; // activation-function inputs and the down-projection input
  const split = qkv + attentionOutput + mlp;
  const attentionScores = options.flashAttention || options.recompute === 'selective'
    ? 0
    : (hasDropout(model) ? 5 : 2) * model.heads * model.seqLength * sb; // softmax out (+ dropout mask and output)
  return replicated * replicatedShare + (split + attentionScores) / tp;
}

/** Bytes held by the output layer and loss of the last stage per micro-batch: the fp32 logits, split over t. */
export const outputLayerActivationBytes = (model: ModelShape, microBatchSize: number, tp: number): number =>
  (4 * model.seqLength * microBatchSize * model.vocab) / tp;

/**
 * Layers per pipeline rank: the first p-1 ranks take ceil(L/p) and the last the rest, so the last rank (which
 * also runs the output layer) is the lighter one when L does not divide evenly.
 */
export function layersPerRank(model: ModelShape, pp: number): { first: number; last: number } {
  const first = Math.ceil(model.layers / pp);
  return { first, last: model.layers - (pp - 1) * first };
}

export interface StageParameters {
  /** Parameters of the transformer layers this GPU holds. */
  readonly layers: number;
  /** Embedding / output-layer parameters this GPU holds. */
  readonly embeddings: number;
}

/**
 * Parameters per GPU on the rank holding the first chunk and the rank holding the last one; with `endsShareRank`
 * (p = 1, or a V-shaped placement such as zb-v) one rank holds both ends.
 */
export function stageParameters(
  model: ModelShape, parallel: ParallelPlan, endsShareRank = parallel.pp === 1,
): { first: StageParameters; last: StageParameters } {
  const perLayer = layerParameters(model) / parallel.tp;
  const embeddings = embeddingParameters(model);
  const lastOutput = model.tiedEmbeddings ? model.vocab * model.hidden + embeddings.output : embeddings.output;
  const ranks = layersPerRank(model, parallel.pp);
  if (endsShareRank) {
    const only = { layers: ranks.first * perLayer, embeddings: (embeddings.input + embeddings.output) / parallel.tp };
    return { first: only, last: only };
  }
  return {
    first: { layers: ranks.first * perLayer, embeddings: embeddings.input / parallel.tp },
    // A tied embedding keeps a copy on the last rank for the output layer.
    last: { layers: ranks.last * perLayer, embeddings: lastOutput / parallel.tp },
  };
}

export interface ModelStateBytes {
  readonly weights: number;
  readonly gradients: number;
  readonly optimizer: number;
}

/**
 * Mixed-precision Adam: 2 bytes of 16-bit weights, 2 (or 4) of gradients, 12 of fp32 master weights and two
 * moments per parameter; ZeRO stage 1 shards the optimizer over d, stage 2 the gradients too, stage 3 the weights.
 */
export function modelStateBytes(parameters: number, fp32Gradients: boolean, zero: ZeroStage, dp: number): ModelStateBytes {
  return {
    weights: (2 * parameters) / (zero >= 3 ? dp : 1),
    gradients: ((fp32Gradients ? 4 : 2) * parameters) / (zero >= 2 ? dp : 1),
    optimizer: (12 * parameters) / (zero >= 1 ? dp : 1),
  };
}
