import { UsageError } from '../errors.js';
import { quote } from '../quote.js';

/**
 * A decoder-only transformer's shape. `gpt` is the Megatron GPT block (biases, LayerNorm, GeLU MLP of
 * ffnHidden, dropout, learned positions); `llama` is the Llama block (no biases, RMSNorm, SwiGLU MLP with three
 * matrices of ffnHidden, rotary positions, no dropout).
 */
export interface ModelShape {
  readonly name: string;
  readonly architecture: 'gpt' | 'llama';
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  /** Key/value heads (grouped-query attention); equal to heads for multi-head attention. */
  readonly kvHeads: number;
  readonly ffnHidden: number;
  readonly seqLength: number;
  readonly vocab: number;
  readonly tiedEmbeddings: boolean;
}

export const headDim = (model: ModelShape): number => model.hidden / model.heads;
/** Width of the fused Q, K, V projection's output. */
export const qkvWidth = (model: ModelShape): number => (model.heads + 2 * model.kvHeads) * headDim(model);
/** Matrices in the MLP's first projection: 2 for SwiGLU (gate and up), 1 for GeLU. */
export const mlpInputMatrices = (model: ModelShape): number => (model.architecture === 'llama' ? 2 : 1);
export const hasDropout = (model: ModelShape): boolean => model.architecture === 'gpt';

/** Parameters of one transformer layer (weights, biases, norms). */
export function layerParameters(model: ModelShape): number {
  const h = model.hidden;
  const f = model.ffnHidden;
  const attention = h * qkvWidth(model) + h * h;
  const mlp = h * f * mlpInputMatrices(model) + f * h;
  if (model.architecture === 'llama') return attention + mlp + 2 * h; // two RMSNorm weights
  const biases = qkvWidth(model) + h + f + h;
  return attention + mlp + biases + 4 * h; // two LayerNorms, weight and bias each
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
  return model.layers * layerParameters(model) + embeddings.input + embeddings.output;
}

/** Checks the shape is self-consistent; a UsageError names the first thing wrong and what would be right. */
export function validateModel(model: ModelShape): ModelShape {
  for (const key of ['layers', 'hidden', 'heads', 'kvHeads', 'ffnHidden', 'seqLength', 'vocab'] as const) {
    const value = model[key];
    if (!Number.isInteger(value) || value <= 0) {
      throw new UsageError(`model.${key} must be a positive integer, got ${value}`);
    }
  }
  if (model.hidden % model.heads !== 0) {
    throw new UsageError(`model.hidden (${model.hidden}) must be a multiple of model.heads (${model.heads})`);
  }
  if (model.heads % model.kvHeads !== 0) {
    throw new UsageError(`model.heads (${model.heads}) must be a multiple of model.kvHeads (${model.kvHeads})`);
  }
  return model;
}

const gpt = (name: string, layers: number, hidden: number, heads: number): ModelShape => ({
  name, architecture: 'gpt', layers, hidden, heads, kvHeads: heads, ffnHidden: 4 * hidden,
  seqLength: 2048, vocab: 51200, tiedEmbeddings: true,
});

const llama = (
  name: string, layers: number, hidden: number, heads: number, kvHeads: number, ffnHidden: number,
  seqLength: number, vocab: number,
): ModelShape => ({
  name, architecture: 'llama', layers, hidden, heads, kvHeads, ffnHidden, seqLength, vocab, tiedEmbeddings: false,
});

/**
 * Well-known shapes. GPT family: Narayanan et al. 2021 Table 1 (vocabulary 51,200, sequence 2,048) and GPT-3
 * (Brown et al. 2020); 22B from Korthikanti et al. 2022 Table 3. Llama: the Llama 2 and Llama 3 papers' tables.
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
};

export function findPreset(id: string): ModelShape {
  const preset = modelPresets[id];
  if (preset === undefined) {
    throw new UsageError(`unknown model ${quote(id)}; presets: ${Object.keys(modelPresets).join(', ')}`);
  }
  return preset;
}
