import { EXPERT_LOAD_FACTOR } from './layer-time.js';
import {
  attentionWidth, embeddingParameters, hasDropout, headDim, layerKindCounts, layerParameterParts, mlpInputMatrices, moeOf,
  type LayerKind, type ModelShape,
} from './model.js';
import {
  contextParallelDegree, expertParallelDegree, expertTensorDegree,
  type Offload, type OptimizerKind, type ParallelPlan, type Recompute, type ZeroStage,
} from './plan.js';

export interface ActivationOptions {
  readonly sequenceParallel: boolean;
  readonly recompute: Recompute;
  readonly flashAttention: boolean;
  /** Context-parallel degree: each GPU stashes seqLength / cp of every sequence (1 when absent). */
  readonly cp?: number;
  /** The layer's MLP: dense (default) or a MoE router with experts. */
  readonly kind?: LayerKind;
  /** Expert tensor-parallel degree: each routed expert's width split over etp GPUs (t when absent). */
  readonly etp?: number;
}

/**
 * Bytes of 16-bit activations one layer stashes for its backward, per micro-batch, per GPU — Korthikanti et al.
 * 2022 §4: s·b·h·(10 + 24/t + 5·a·s/(h·t)) for a GPT block under tensor parallelism, 34/t + 5as/(ht) with sequence
 * parallelism, the a·s² term gone under selective recomputation (or flash attention), 2·s·b·h (/t with sequence
 * parallelism) under full recomputation. Generalised term by term to grouped-query attention, SwiGLU, context
 * parallelism (s/cp tokens per GPU) and MoE layers (the routed copies of each token, sized for the expert load factor).
 */
export function activationBytesPerLayer(model: ModelShape, microBatchSize: number, tp: number, options: ActivationOptions): number {
  const sb = (model.seqLength * microBatchSize) / (options.cp ?? 1); // tokens of this GPU's slice of the micro-batch
  const sbh = sb * model.hidden;
  const replicatedShare = options.sequenceParallel ? 1 / tp : 1; // LayerNorm/dropout region, split only with SP
  if (options.recompute === 'full') return 2 * sbh * replicatedShare; // only the layer's input survives
  const dropoutMasks = hasDropout(model) ? 2 * sbh : 0; // 1 byte per element after attention and after the MLP
  // Two norm inputs and two norm outputs (the Q/K/V and MLP inputs), 2 bytes each.
  let replicated = 8 * sbh + dropoutMasks;
  const qkv = 2 * sb * (model.heads + 2 * model.kvHeads) * headDim(model);
  const attentionOutput = 2 * sb * attentionWidth(model); // input of the output projection
  // Activation-function inputs and the down-projection input of an MLP of width f over `tokens`.
  const mlp = (tokens: number, f: number): number => 2 * tokens * f * mlpInputMatrices(model) + 2 * tokens * f;
  const moe = moeOf(model);
  let mlpStash: number;
  let routedExperts = 0; // stashed by this GPU's experts, already per GPU
  if (options.kind !== 'moe' || moe === undefined) {
    mlpStash = mlp(sb, model.ffnHidden);
  } else {
    const etp = options.etp ?? tp;
    // Token copies at this GPU's experts: the etp GPUs sharing an expert's width gather their sequence-parallel shares.
    const routed = (options.sequenceParallel ? (sb / tp) * etp : sb) * moe.expertsPerToken * EXPERT_LOAD_FACTOR;
    const permutedInputs = 2 * routed * model.hidden / (options.sequenceParallel ? etp : 1);
    routedExperts = mlp(routed, moe.moeFfnHidden) / etp + permutedInputs;
    mlpStash = moe.sharedExperts > 0 ? mlp(sb, moe.sharedExperts * moe.moeFfnHidden) : 0;
    replicated += 4 * sb * moe.experts; // fp32 router probabilities
  }
  const split = qkv + attentionOutput + mlpStash;
  const attentionScores = options.flashAttention || options.recompute === 'selective'
    ? 0
    : (hasDropout(model) ? 5 : 2) * model.heads * model.seqLength * sb; // softmax out (+ dropout mask and output)
  return replicated * replicatedShare + (split + attentionScores) / tp + routedExperts;
}

/** Bytes held by the output layer and loss of the last stage per micro-batch: the fp32 logits, split over t and cp. */
export const outputLayerActivationBytes = (model: ModelShape, microBatchSize: number, tp: number, cp = 1): number =>
  (4 * model.seqLength * microBatchSize * model.vocab) / (tp * cp);

/**
 * Layers per pipeline rank: the first p-1 ranks take ceil(L/p) and the last the rest, so the last rank (which
 * also runs the output layer) is the lighter one when L does not divide evenly.
 */
export function layersPerRank(model: ModelShape, pp: number): { first: number; last: number } {
  const first = Math.ceil(model.layers / pp);
  return { first, last: model.layers - (pp - 1) * first };
}

/** Layers on each pipeline rank, [pp]: the plan's own split, else Megatron's (ceil(L/p) each, the rest on the last). */
export function layerSplit(model: ModelShape, parallel: ParallelPlan): readonly number[] {
  if (parallel.layersPerStage !== undefined) return parallel.layersPerStage;
  const ranks = layersPerRank(model, parallel.pp);
  return Array.from({ length: parallel.pp }, (_, rank) => (rank === parallel.pp - 1 ? ranks.last : ranks.first));
}

export interface StageParameters {
  /** Parameters of the transformer layers this GPU holds, bar the routed experts. */
  readonly layers: number;
  /** Routed-expert parameters this GPU holds (0 for a dense model). */
  readonly experts: number;
  /** Embedding / output-layer parameters this GPU holds. */
  readonly embeddings: number;
}

/** What one pipeline rank holds: its layers by kind (counted along the model in order) and which ends. */
export interface RankShare {
  readonly layers: Readonly<Record<LayerKind, number>>;
  readonly embedding: boolean;
  readonly output: boolean;
}

/** Every pipeline rank's share, [pp]; the output layer sits on `outputRank` (p-1, or 0 for V-shaped placements). */
export function rankShares(model: ModelShape, parallel: ParallelPlan, outputRank = parallel.pp - 1): RankShare[] {
  const split = layerSplit(model, parallel);
  let first = 0;
  return split.map((count, rank) => {
    const layers = layerKindCounts(model, first, count);
    first += count;
    return { layers, embedding: rank === 0, output: rank === outputRank };
  });
}

/** Parameters per GPU of one pipeline rank: its layers split over t (routed experts over etp·e), and its ends. */
export function rankParameters(model: ModelShape, parallel: ParallelPlan, share: RankShare): StageParameters {
  const dense = layerParameterParts(model, 'dense').dense;
  const moe = layerParameterParts(model, 'moe');
  const embeddings = embeddingParameters(model);
  // A tied embedding keeps a copy with the output layer when the ends sit on different ranks.
  const output = model.tiedEmbeddings && !share.embedding ? model.vocab * model.hidden + embeddings.output : embeddings.output;
  const ends = (share.embedding ? embeddings.input : 0) + (share.output ? output : 0);
  return {
    layers: (share.layers.dense * dense + share.layers.moe * moe.dense) / parallel.tp,
    experts: (share.layers.moe * moe.experts) / (expertTensorDegree(parallel) * expertParallelDegree(parallel)),
    embeddings: ends / parallel.tp,
  };
}

/**
 * Parameters per GPU on the rank holding the first chunk and the rank holding the last one; with `endsShareRank`
 * (p = 1, or a V-shaped placement such as zb-v) one rank holds both ends.
 */
export function stageParameters(
  model: ModelShape, parallel: ParallelPlan, endsShareRank = parallel.pp === 1,
): { first: StageParameters; last: StageParameters } {
  const shares = rankShares(model, parallel, endsShareRank ? 0 : parallel.pp - 1);
  return { first: rankParameters(model, parallel, shares[0]!), last: rankParameters(model, parallel, shares[shares.length - 1]!) };
}

/** GPUs that hold the same dense weights and share their gradient reduction and ZeRO shards: d·c. */
export const denseReplicas = (parallel: ParallelPlan): number => parallel.dp * contextParallelDegree(parallel);
/** GPUs that hold the same slice of the same routed experts: t·c·d / (etp·e). */
export const expertReplicas = (parallel: ParallelPlan): number =>
  (parallel.tp * denseReplicas(parallel)) / (expertTensorDegree(parallel) * expertParallelDegree(parallel));

/** Bytes per GPU of weights, gradients and optimizer state on the GPU, and of what this GPU keeps in host memory. */
export interface ModelStateBytes {
  readonly weights: number;
  readonly gradients: number;
  readonly optimizer: number;
  readonly host: number;
}

/** Adam's bytes per parameter: fp32 master weights (4) and two moments of 4 bytes, or of 1 byte with 8-bit Adam. */
export const optimizerBytesPerParameter = (optimizer: OptimizerKind): number => (optimizer === 'adam-8bit' ? 6 : 12);

/**
 * Mixed-precision Adam: 2 bytes of 16-bit weights, 2 (or 4) of gradients, 12 of fp32 master weights and two
 * moments per parameter (6 with 8-bit moments); ZeRO stage 1 shards the optimizer over d, stage 2 the gradients too,
 * stage 3 the weights. Offloading the optimizer (ZeRO-Offload, Ren et al. 2021) moves its shard to host memory with a
 * 16-bit copy of the gradients, and the GPU keeps 16-bit gradients; offloading the parameters too keeps the 16-bit
 * weights' shard in host memory, the GPU holding only the layers being computed (counted by the caller).
 */
export function modelStateBytes(
  parameters: number, fp32Gradients: boolean, zero: ZeroStage, dp: number, optimizer: OptimizerKind = 'adam', offload: Offload = 'none',
): ModelStateBytes {
  const optimizerBytes = (optimizerBytesPerParameter(optimizer) * parameters) / (zero >= 1 ? dp : 1);
  const weightBytes = (2 * parameters) / (zero >= 3 ? dp : 1);
  const gradientBytes = ((offload === 'none' && fp32Gradients ? 4 : 2) * parameters) / (zero >= 2 ? dp : 1);
  if (offload === 'none') return { weights: weightBytes, gradients: gradientBytes, optimizer: optimizerBytes, host: 0 };
  const hostGradients = (2 * parameters) / (zero >= 1 ? dp : 1);
  const hostWeights = offload === 'optimizer-and-parameters' ? weightBytes : 0;
  return {
    weights: offload === 'optimizer-and-parameters' ? 0 : weightBytes,
    gradients: gradientBytes,
    optimizer: 0,
    host: optimizerBytes + hostGradients + hostWeights,
  };
}

/** Model states of one rank: dense parameters sharded over d·c replicas, routed experts over t·c·d/(etp·e). */
export function rankStateBytes(parameters: StageParameters, parallel: ParallelPlan, fp32Gradients: boolean): ModelStateBytes {
  const states = (count: number, replicas: number): ModelStateBytes =>
    modelStateBytes(count, fp32Gradients, parallel.zero, replicas, parallel.optimizer, parallel.offload);
  const dense = states(parameters.layers + parameters.embeddings, denseReplicas(parallel));
  const experts = states(parameters.experts, expertReplicas(parallel));
  return {
    weights: dense.weights + experts.weights,
    gradients: dense.gradients + experts.gradients,
    optimizer: dense.optimizer + experts.optimizer,
    host: dense.host + experts.host,
  };
}
