/** A float64 GPT-2 written straight from the architecture with the kernel references, for gradient checks. */
import type { GPTConfig, Parameter } from '../../src/nn/parameter.js';
import {
  referenceAttention,
  referenceCrossEntropy,
  referenceEmbedding,
  referenceGelu,
  referenceLayerNorm,
  referenceLinear,
} from '../tensor/ops/reference.js';

/** Parameter values by Hugging Face name, in float64 (tied copies collapse into one entry). */
export type ReferenceParameters = Map<string, Float64Array>;

export function referenceParameters(parameters: readonly Parameter[]): ReferenceParameters {
  return new Map(parameters.map((parameter) => [parameter.name, Float64Array.from(parameter.data)]));
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((value, i) => value + b[i]!);
}

/** One pre-LN block on x [B,T,C]. */
export function referenceBlock(
  params: ReferenceParameters,
  layer: number,
  x: ArrayLike<number>,
  B: number,
  T: number,
  config: GPTConfig,
): Float64Array {
  const C = config.embd;
  const N = B * T;
  const p = (suffix: string) => params.get(`h.${layer}.${suffix}`)!;
  const ln1 = referenceLayerNorm(x, p('ln_1.weight'), p('ln_1.bias'), N, C);
  const qkv = referenceLinear(ln1, p('attn.c_attn.weight'), p('attn.c_attn.bias'), N, C, 3 * C, 'in-out');
  const attended = referenceAttention(qkv, B, T, C, config.heads);
  const attnOut = referenceLinear(attended, p('attn.c_proj.weight'), p('attn.c_proj.bias'), N, C, C, 'in-out');
  const x2 = add(Float64Array.from(x), attnOut);
  const ln2 = referenceLayerNorm(x2, p('ln_2.weight'), p('ln_2.bias'), N, C);
  const hidden = referenceGelu(referenceLinear(ln2, p('mlp.c_fc.weight'), p('mlp.c_fc.bias'), N, C, 4 * C, 'in-out'));
  return add(x2, referenceLinear(hidden, p('mlp.c_proj.weight'), p('mlp.c_proj.bias'), N, 4 * C, C, 'in-out'));
}

/** ln_f, LM head (tied to wte unless lm_head.weight exists) and mean cross-entropy on x [B,T,C]. */
export function referenceHeadLoss(
  params: ReferenceParameters,
  x: ArrayLike<number>,
  targets: Int32Array,
  N: number,
  config: GPTConfig,
): number {
  const C = config.embd;
  const normed = referenceLayerNorm(x, params.get('ln_f.weight')!, params.get('ln_f.bias')!, N, C);
  const output = params.get(config.tied ? 'wte.weight' : 'lm_head.weight')!;
  const logits = referenceLinear(normed, output, null, N, C, config.vocabSize, 'out-in');
  return referenceCrossEntropy(logits, targets, N, config.vocabSize);
}

export function referenceEmbed(params: ReferenceParameters, tokens: Int32Array, B: number, T: number, config: GPTConfig): Float64Array {
  return referenceEmbedding(tokens, params.get('wte.weight')!, params.get('wpe.weight')!, B, T, config.embd);
}

export function referenceLoss(
  params: ReferenceParameters,
  tokens: Int32Array,
  targets: Int32Array,
  B: number,
  T: number,
  config: GPTConfig,
): number {
  let x = referenceEmbed(params, tokens, B, T, config);
  for (let layer = 0; layer < config.layers; layer++) x = referenceBlock(params, layer, x, B, T, config);
  return referenceHeadLoss(params, x, targets, B * T, config);
}
