import { UsageError } from '../../errors.js';
import { parseJsonText, parseModel } from '../config.js';
import { validateModel, type ModelShape } from '../model.js';

type Json = Record<string, unknown>;

/** Fields of Mixtral, Qwen-MoE and DeepSeek configs that describe experts, which the planner does not model yet. */
const expertFields = [
  'num_local_experts', 'num_experts', 'n_routed_experts', 'num_experts_per_tok', 'moe_intermediate_size',
  'n_shared_experts', 'shared_expert_intermediate_size',
];

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
  const experts = expertFields.filter((key) => key in json && json[key] !== null && json[key] !== 0);
  if (experts.length > 0) {
    throw new UsageError(
      `${source} is a mixture-of-experts config (${experts.map((key) => `${key}: ${JSON.stringify(json[key])}`).join(', ')}); ` +
        'the planner does not model experts yet, so these fields cannot be read: give a dense model',
    );
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
  if (json['head_dim'] != null && json['head_dim'] !== hidden / heads) {
    throw new UsageError(`${source}: head_dim ${json['head_dim']} differs from hidden_size / num_attention_heads = ${hidden / heads}, which the planner does not model`);
  }
  return validateModel({
    name, architecture: 'llama', layers: integer(json, source, 'num_hidden_layers'), hidden, heads,
    kvHeads: json['num_key_value_heads'] == null ? heads : integer(json, source, 'num_key_value_heads'),
    ffnHidden: integer(json, source, 'intermediate_size'), seqLength: integer(json, source, 'max_position_embeddings'),
    vocab: integer(json, source, 'vocab_size'), tiedEmbeddings: json['tie_word_embeddings'] === true,
  });
}

/** A model file's text: a Hugging Face config.json or Conveyor's own model shape (the `model` of an estimate config). */
export function parseModelFile(text: string, source: string): ModelShape {
  const json = parseJsonText(text, source);
  return isHuggingFaceConfig(json) ? parseHuggingFaceConfig(json as Json, source) : parseModel(text, source);
}
