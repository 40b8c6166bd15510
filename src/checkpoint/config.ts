import { z } from 'zod';
import { UsageError } from '../errors.js';
import { describeZodError } from '../zod-message.js';
import type { GPTConfig } from '../nn/parameter.js';

/** What our layers compute; a config.json asking for anything else is refused rather than run wrongly. */
const ACTIVATION = 'gelu_new'; // GELU with the tanh approximation, in Hugging Face's naming
const LAYER_NORM_EPSILON = 1e-5;

/** The Hugging Face GPT2Config fields for this model, so `GPT2LMHeadModel.from_pretrained(dir)` rebuilds it. */
export function configToJson(config: GPTConfig): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: config.vocabSize,
    n_positions: config.blockSize,
    n_embd: config.embd,
    n_layer: config.layers,
    n_head: config.heads,
    n_inner: null,
    activation_function: ACTIVATION,
    layer_norm_epsilon: LAYER_NORM_EPSILON,
    initializer_range: 0.02,
    // We train without dropout; zero keeps a PyTorch forward in train mode identical too.
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    tie_word_embeddings: config.tied,
    // GPT-2's default special ids (50256) lie outside a character vocabulary.
    bos_token_id: null,
    eos_token_id: null,
    torch_dtype: 'float32',
  };
}

const size = z.number().int().positive();
const configSchema = z.object({
  model_type: z.literal('gpt2'),
  vocab_size: size,
  n_positions: size,
  n_embd: size,
  n_layer: size,
  n_head: size,
  n_inner: z.number().int().positive().nullable().optional(),
  activation_function: z.literal(ACTIVATION).optional(),
  layer_norm_epsilon: z.literal(LAYER_NORM_EPSILON).optional(),
  tie_word_embeddings: z.boolean().optional(),
});

/** Reads a GPT-2 config.json object; anything our model cannot compute exactly is a UsageError naming the file and field. */
export function configFromJson(value: unknown, file: string): GPTConfig {
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) {
    throw new UsageError(`${file}: ${describeZodError(parsed.error, value, configSchema)} (Conveyor reads the GPT-2 config.json it saves)`);
  }
  const json = parsed.data;
  if (json.n_embd % json.n_head !== 0) throw new UsageError(`${file}: n_embd ${json.n_embd} is not divisible by n_head ${json.n_head}`);
  if (json.n_inner != null && json.n_inner !== 4 * json.n_embd) {
    throw new UsageError(`${file}: n_inner ${json.n_inner} is not 4 x n_embd; Conveyor's MLP is 4 x n_embd wide`);
  }
  return {
    vocabSize: json.vocab_size,
    blockSize: json.n_positions,
    layers: json.n_layer,
    embd: json.n_embd,
    heads: json.n_head,
    tied: json.tie_word_embeddings ?? true,
  };
}
