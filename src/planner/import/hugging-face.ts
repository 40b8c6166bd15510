import { UsageError } from '../../errors.js';
import { parseJsonText, parseModel } from '../config.js';
import { validateModel, type ModelShape } from '../model.js';

type Json = Record<string, unknown>;

/** Multi-head latent attention (DeepSeek-V2/V3): low-rank Q and KV projections the planner's attention does not model. */
const latentAttentionFields = ['q_lora_rank', 'kv_lora_rank', 'qk_rope_head_dim', 'qk_nope_head_dim', 'v_head_dim'];

/** True when the JSON looks like a Hugging Face model config rather than Conveyor's own model shape. */
export const isHuggingFaceConfig = (json: unknown): boolean =>
  typeof json === 'object' && json !== null && ['model_type', 'num_hidden_layers', 'n_layer'].some((key) => key in json);

function integer(json: Json, source: string, key: string): number {
  const value = json[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new UsageError(`${source}: ${key} must be a positive integer in a Hugging Face config, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * A Hugging Face `config.json` as a model shape: GPT-2 (n_layer, n_embd, n_head, n_positions, n_inner) or the
 * Llama family's names (Llama, Mistral, Qwen2 and dense relatives). The sequence length is max_position_embeddings
 * unless `seqLength` says otherwise (plan's --seq-len).
 */
export function parseHuggingFaceConfig(json: Json, source: string): ModelShape {
  const latent = latentAttentionFields.filter((key) => json[key] != null);
  if (latent.length > 0) {
    throw new UsageError(`${source} uses multi-head latent attention (${latent.join(', ')}), which the planner does not model; give a model with standard attention`);
  }
  const name = typeof json['_name_or_path'] === 'string' && json['_name_or_path'] !== '' ? json['_name_or_path'] : `${json['model_type'] ?? 'hf'}-config`;
  if (json['model_type'] === 'gpt2' || 'n_layer' in json) {
    const hidden = integer(json, source, 'n_embd');
    return validateModel({
      name, architecture: 'gpt', layers: integer(json, source, 'n_layer'), hidden, heads: integer(json, source, 'n_head'),
      kvHeads: integer(json, source, 'n_head'), ffnHidden: json['n_inner'] == null ? 4 * hidden : integer(json, source, 'n_inner'),
      seqLength: integer(json, source, 'n_positions'), vocab: integer(json, source, 'vocab_size'),
      tiedEmbeddings: json['tie_word_embeddings'] !== false,
    });
  }
  const hidden = integer(json, source, 'hidden_size');
  const heads = integer(json, source, 'num_attention_heads');
  const headDim = json['head_dim'] == null || json['head_dim'] === hidden / heads ? {} : { headDim: integer(json, source, 'head_dim') };
  return validateModel({
    name, architecture: 'llama', layers: integer(json, source, 'num_hidden_layers'), hidden, heads, ...headDim,
    kvHeads: json['num_key_value_heads'] == null ? heads : integer(json, source, 'num_key_value_heads'),
    ffnHidden: integer(json, source, 'intermediate_size'), seqLength: integer(json, source, 'max_position_embeddings'),
    vocab: integer(json, source, 'vocab_size'), tiedEmbeddings: json['tie_word_embeddings'] === true,
    ...experts(json, source),
  });
}

/**
 * Expert fields: Mixtral's num_local_experts (each expert of intermediate_size), Qwen-MoE's num_experts with
 * moe_intermediate_size and one shared expert of shared_expert_intermediate_size, DeepSeek's n_routed_experts,
 * n_shared_experts and first_k_dense_replace. Empty for a dense config.
 */
function experts(json: Json, source: string): Partial<ModelShape> {
  const count = ['num_local_experts', 'num_experts', 'n_routed_experts'].find((key) => typeof json[key] === 'number' && json[key] !== 0);
  if (count === undefined) return {};
  const width = json['moe_intermediate_size'] == null ? integer(json, source, 'intermediate_size') : integer(json, source, 'moe_intermediate_size');
  const shape: { -readonly [K in keyof ModelShape]?: ModelShape[K] } = {
    experts: integer(json, source, count),
    expertsPerToken: json['num_experts_per_tok'] == null ? 2 : integer(json, source, 'num_experts_per_tok'),
    moeFfnHidden: width,
  };
  if (typeof json['n_shared_experts'] === 'number' && json['n_shared_experts'] > 0) shape.sharedExperts = integer(json, source, 'n_shared_experts');
  if (typeof json['shared_expert_intermediate_size'] === 'number' && json['shared_expert_intermediate_size'] > 0) {
    const shared = integer(json, source, 'shared_expert_intermediate_size');
    if (shared % width !== 0) throw new UsageError(`${source}: shared_expert_intermediate_size ${shared} is not a whole number of experts of ${width}, which the planner does not model`);
    shape.sharedExperts = shared / width;
  }
  if (typeof json['first_k_dense_replace'] === 'number' && json['first_k_dense_replace'] > 0) shape.firstDenseLayers = json['first_k_dense_replace'];
  const step = json['decoder_sparse_step'] ?? json['moe_layer_freq'] ?? 1;
  const dense = Array.isArray(json['mlp_only_layers']) ? json['mlp_only_layers'].length : 0;
  if (step !== 1 || dense > 0) {
    throw new UsageError(`${source}: MoE layers other than every layer (decoder_sparse_step / moe_layer_freq ${step}, mlp_only_layers ${dense}) are not read yet`);
  }
  return shape;
}

/** A model file's text: a Hugging Face config.json or Conveyor's own model shape (the `model` of an estimate config). */
export function parseModelFile(text: string, source: string): ModelShape {
  const json = parseJsonText(text, source);
  return isHuggingFaceConfig(json) ? parseHuggingFaceConfig(json as Json, source) : parseModel(text, source);
}
