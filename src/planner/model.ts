import { UsageError } from '../errors.js';
import { quote } from '../quote.js';

/**
 * A decoder-only transformer's shape. `gpt` is the Megatron GPT block (biases, LayerNorm, GeLU MLP of
 * ffnHidden, dropout, learned positions); `llama` is the Llama block (no biases, RMSNorm, SwiGLU MLP with three
 * matrices of ffnHidden, rotary positions, no dropout). A mixture-of-experts model (`experts` set) replaces the MLP
 * of its MoE layers by a router, `experts` routed experts of `moeFfnHidden` of which each token uses
 * `expertsPerToken`, and `sharedExperts` experts every token uses.
 */
export interface ModelShape {
  readonly name: string;
  readonly architecture: 'gpt' | 'llama';
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  /** Key/value heads (grouped-query attention); equal to heads for multi-head attention. */
  readonly kvHeads: number;
  /** Width of each head; hidden / heads when absent (Qwen3, for one, uses wider heads than that). */
  readonly headDim?: number;
  /** Width of the dense MLP (every layer of a dense model; the dense layers of a MoE model). */
  readonly ffnHidden: number;
  readonly seqLength: number;
  readonly vocab: number;
  readonly tiedEmbeddings: boolean;
  /** Routed experts per MoE layer; absent for a dense model. */
  readonly experts?: number;
  /** Routed experts each token goes to (top-k); 2 when absent. */
  readonly expertsPerToken?: number;
  /** Width of one expert's MLP; ffnHidden when absent. */
  readonly moeFfnHidden?: number;
  /** Experts every token goes to besides the routed ones (DeepSeek's shared experts), of moeFfnHidden each; 0 when absent. */
  readonly sharedExperts?: number;
  /** Leading layers that keep the dense MLP (DeepSeek's first_k_dense_replace); 0 when absent. */
  readonly firstDenseLayers?: number;
  /** After those, layer i is MoE when i is a multiple of this (Megatron's --moe-layer-freq); 1 (every layer) when absent. */
  readonly moeLayerFrequency?: number;
}

/** The MoE fields with their defaults filled in. */
export interface MoeShape {
  readonly experts: number;
  readonly expertsPerToken: number;
  readonly moeFfnHidden: number;
  readonly sharedExperts: number;
  readonly firstDenseLayers: number;
  readonly moeLayerFrequency: number;
}

/** The model's MoE settings, or undefined for a dense model. */
export function moeOf(model: ModelShape): MoeShape | undefined {
  if (model.experts === undefined) return undefined;
  return {
    experts: model.experts,
    expertsPerToken: model.expertsPerToken ?? 2,
    moeFfnHidden: model.moeFfnHidden ?? model.ffnHidden,
    sharedExperts: model.sharedExperts ?? 0,
    firstDenseLayers: model.firstDenseLayers ?? 0,
    moeLayerFrequency: model.moeLayerFrequency ?? 1,
  };
}

/** What a layer's MLP is: the dense MLP of ffnHidden, or a router with experts. */
export type LayerKind = 'dense' | 'moe';

/** Whether layer `index` (0-based) is a MoE layer. */
export function isMoeLayer(model: ModelShape, index: number): boolean {
  const moe = moeOf(model);
  return moe !== undefined && index >= moe.firstDenseLayers && index % moe.moeLayerFrequency === 0;
}

/** Dense and MoE layers among layers [first, first + count). */
export function layerKindCounts(model: ModelShape, first: number, count: number): Record<LayerKind, number> {
  let moe = 0;
  for (let index = first; index < first + count; index++) if (isMoeLayer(model, index)) moe++;
  return { dense: count - moe, moe };
}

export const headDim = (model: ModelShape): number => model.headDim ?? model.hidden / model.heads;
/** Width of the attention's output (the input of its output projection): heads × head width. */
export const attentionWidth = (model: ModelShape): number => model.heads * headDim(model);
/** Width of the fused Q, K, V projection's output. */
export const qkvWidth = (model: ModelShape): number => (model.heads + 2 * model.kvHeads) * headDim(model);
/** Matrices in the MLP's first projection: 2 for SwiGLU (gate and up), 1 for GeLU. */
export const mlpInputMatrices = (model: ModelShape): number => (model.architecture === 'llama' ? 2 : 1);
export const hasDropout = (model: ModelShape): boolean => model.architecture === 'gpt';

/** Parameters of one MLP of width f (weights, and biases for GPT). */
export function mlpParameters(model: ModelShape, f: number): number {
  const h = model.hidden;
  const weights = h * f * mlpInputMatrices(model) + f * h;
  return model.architecture === 'llama' ? weights : weights + f + h;
}

/** Attention and the two norms of one layer: the part every layer has whatever its MLP. */
export function attentionParameters(model: ModelShape): number {
  const h = model.hidden;
  const weights = h * qkvWidth(model) + attentionWidth(model) * h;
  if (model.architecture === 'llama') return weights + 2 * h; // two RMSNorm weights
  return weights + qkvWidth(model) + h + 4 * h; // biases; two LayerNorms, weight and bias each
}

/**
 * Parameters of one layer of `kind`, split into what every GPU of a tensor-parallel group shares a slice of
 * (`dense`: attention, norms, dense MLP, router, shared experts) and the routed experts (`experts`), which expert
 * parallelism divides further.
 */
export function layerParameterParts(model: ModelShape, kind: LayerKind = 'dense'): { dense: number; experts: number } {
  const moe = moeOf(model);
  if (kind === 'dense' || moe === undefined) return { dense: attentionParameters(model) + mlpParameters(model, model.ffnHidden), experts: 0 };
  const expert = mlpParameters(model, moe.moeFfnHidden);
  const router = model.hidden * moe.experts;
  return { dense: attentionParameters(model) + router + moe.sharedExperts * expert, experts: moe.experts * expert };
}

/** Parameters of one transformer layer (weights, biases, norms); a MoE layer counts all its experts. */
export function layerParameters(model: ModelShape, kind: LayerKind = 'dense'): number {
  const parts = layerParameterParts(model, kind);
  return parts.dense + parts.experts;
}

/** Input embedding (plus learned positions for GPT) and, when untied, the output projection; plus the final norm. */
export function embeddingParameters(model: ModelShape): { input: number; output: number } {
  const h = model.hidden;
  const positions = model.architecture === 'gpt' ? model.seqLength * h : 0;
  const finalNorm = model.architecture === 'gpt' ? 2 * h : h;
  return { input: model.vocab * h + positions, output: (model.tiedEmbeddings ? 0 : model.vocab * h) + finalNorm };
}

export function totalParameters(model: ModelShape): number {
  const embeddings = embeddingParameters(model);
  const kinds = layerKindCounts(model, 0, model.layers);
  return kinds.dense * layerParameters(model, 'dense') + kinds.moe * layerParameters(model, 'moe') + embeddings.input + embeddings.output;
}

/** Parameters one token passes through: a MoE layer counts its router, shared and top-k routed experts only. */
export function activeParameters(model: ModelShape): number {
  const moe = moeOf(model);
  if (moe === undefined) return totalParameters(model);
  const kinds = layerKindCounts(model, 0, model.layers);
  const activeMoeLayer = layerParameterParts(model, 'moe').dense + moe.expertsPerToken * mlpParameters(model, moe.moeFfnHidden);
  const embeddings = embeddingParameters(model);
  return kinds.dense * layerParameters(model, 'dense') + kinds.moe * activeMoeLayer + embeddings.input + embeddings.output;
}

const positiveFields = ['layers', 'hidden', 'heads', 'kvHeads', 'ffnHidden', 'seqLength', 'vocab'] as const;
const optionalPositiveFields = ['headDim', 'experts', 'expertsPerToken', 'moeFfnHidden', 'moeLayerFrequency'] as const;

/** Checks the shape is self-consistent; a UsageError names the first thing wrong and what would be right. */
export function validateModel(model: ModelShape): ModelShape {
  for (const key of positiveFields) {
    const value = model[key];
    if (!Number.isInteger(value) || value <= 0) {
      throw new UsageError(`model.${key} must be a positive integer, got ${value}`);
    }
  }
  for (const key of optionalPositiveFields) {
    const value = model[key];
    if (value !== undefined && (!Number.isInteger(value) || value <= 0)) {
      throw new UsageError(`model.${key} must be a positive integer, got ${value}`);
    }
  }
  for (const key of ['sharedExperts', 'firstDenseLayers'] as const) {
    const value = model[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new UsageError(`model.${key} must be a whole number ≥ 0, got ${value}`);
    }
  }
  if (model.headDim === undefined && model.hidden % model.heads !== 0) {
    throw new UsageError(`model.hidden (${model.hidden}) must be a multiple of model.heads (${model.heads}), or give model.headDim`);
  }
  if (model.heads % model.kvHeads !== 0) {
    throw new UsageError(`model.heads (${model.heads}) must be a multiple of model.kvHeads (${model.kvHeads})`);
  }
  const moe = moeOf(model);
  if (moe === undefined) {
    for (const key of ['expertsPerToken', 'moeFfnHidden', 'sharedExperts', 'firstDenseLayers', 'moeLayerFrequency'] as const) {
      if (model[key] !== undefined) throw new UsageError(`model.${key} is set but model.experts is not; give model.experts for a MoE model`);
    }
    return model;
  }
  if (moe.experts < 2) throw new UsageError(`model.experts must be at least 2 for a mixture of experts, got ${moe.experts}`);
  if (moe.expertsPerToken > moe.experts) {
    throw new UsageError(`model.expertsPerToken (${moe.expertsPerToken}) must not exceed model.experts (${moe.experts})`);
  }
  if (layerKindCounts(model, 0, model.layers).moe === 0) {
    throw new UsageError(
      `no layer of ${model.layers} is a MoE layer with firstDenseLayers ${moe.firstDenseLayers} and moeLayerFrequency ${moe.moeLayerFrequency}`,
    );
  }
  return model;
}

const gpt = (name: string, layers: number, hidden: number, heads: number): ModelShape => ({
  name, architecture: 'gpt', layers, hidden, heads, kvHeads: heads, ffnHidden: 4 * hidden,
  seqLength: 2048, vocab: 51200, tiedEmbeddings: true,
});

const llama = (
  name: string, layers: number, hidden: number, heads: number, kvHeads: number, ffnHidden: number,
  seqLength: number, vocab: number, extra: Partial<ModelShape> = {},
): ModelShape => ({
  name, architecture: 'llama', layers, hidden, heads, kvHeads, ffnHidden, seqLength, vocab, tiedEmbeddings: false, ...extra,
});

/**
 * Well-known shapes. GPT family: Narayanan et al. 2021 Table 1 (vocabulary 51,200, sequence 2,048) and GPT-3
 * (Brown et al. 2020); 22B from Korthikanti et al. 2022 Table 3. Llama: the Llama 2 and Llama 3 papers' tables.
 * MoE: the models' published configurations (Mixtral, Jiang et al. 2024; Qwen3 technical report 2025; DeepSeek-V3
 * technical report 2024, with its multi-head latent attention taken as plain attention of 128 heads of width 56,
 * which keeps its parameter count within a few percent, and its multi-token-prediction module left out).
 */
export const modelPresets: Readonly<Record<string, ModelShape>> = {
  'gpt3-175b': gpt('gpt3-175b', 96, 12288, 96),
  'gpt-22b': gpt('gpt-22b', 48, 6144, 64),
  'megatron-1.7b': gpt('megatron-1.7b', 24, 2304, 24),
  'megatron-3.6b': gpt('megatron-3.6b', 30, 3072, 32),
  'megatron-7.5b': gpt('megatron-7.5b', 36, 4096, 32),
  'megatron-18.4b': gpt('megatron-18.4b', 40, 6144, 48),
  'megatron-39.1b': gpt('megatron-39.1b', 48, 8192, 64),
  'megatron-76.1b': gpt('megatron-76.1b', 60, 10240, 80),
  'megatron-145.6b': gpt('megatron-145.6b', 80, 12288, 96),
  'megatron-310.1b': gpt('megatron-310.1b', 96, 16384, 128),
  'megatron-529.6b': gpt('megatron-529.6b', 105, 20480, 128),
  'megatron-1t': gpt('megatron-1t', 128, 25600, 160),
  'llama2-7b': llama('llama2-7b', 32, 4096, 32, 32, 11008, 4096, 32000),
  'llama2-13b': llama('llama2-13b', 40, 5120, 40, 40, 13824, 4096, 32000),
  'llama2-70b': llama('llama2-70b', 80, 8192, 64, 8, 28672, 4096, 32000),
  'llama3-8b': llama('llama3-8b', 32, 4096, 32, 8, 14336, 8192, 128256),
  'llama3-70b': llama('llama3-70b', 80, 8192, 64, 8, 28672, 8192, 128256),
  'llama3-405b': llama('llama3-405b', 126, 16384, 128, 8, 53248, 8192, 128256),
  'mixtral-8x7b': llama('mixtral-8x7b', 32, 4096, 32, 8, 14336, 4096, 32000, { experts: 8, expertsPerToken: 2 }),
  'mixtral-8x22b': llama('mixtral-8x22b', 56, 6144, 48, 8, 16384, 4096, 32768, { experts: 8, expertsPerToken: 2 }),
  'qwen3-30b-a3b': llama('qwen3-30b-a3b', 48, 2048, 32, 4, 6144, 4096, 151936, {
    headDim: 128, experts: 128, expertsPerToken: 8, moeFfnHidden: 768,
  }),
  'deepseek-v3-like': llama('deepseek-v3-like', 61, 7168, 128, 128, 18432, 4096, 129280, {
    experts: 256, expertsPerToken: 8, moeFfnHidden: 2048, sharedExperts: 1, firstDenseLayers: 3,
  }),
};

export function findPreset(id: string): ModelShape {
  const preset = modelPresets[id];
  if (preset === undefined) {
    throw new UsageError(`unknown model ${quote(id)}; presets: ${Object.keys(modelPresets).join(', ')}`);
  }
  return preset;
}
