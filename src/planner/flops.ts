import {
  attentionWidth, layerKindCounts, mlpInputMatrices, moeOf, qkvWidth, type LayerKind, type ModelShape,
} from './model.js';
import type { Recompute } from './plan.js';

/** Forward FLOPs of one MLP of width f per token. */
const mlpFlopsPerToken = (model: ModelShape, f: number): number => 2 * model.hidden * f * mlpInputMatrices(model) + 2 * f * model.hidden;

/** The two attention products per token, Q·Kᵀ and scores·V over the full s×s square, as Megatron counts them. */
const attentionProductFlopsPerToken = (model: ModelShape): number => 4 * model.seqLength * attentionWidth(model);

/**
 * Matrix-multiply FLOPs of one layer's forward pass per token: projections, MLP and the two attention products.
 * A MoE layer counts its router and the experts a token goes to (top-k routed plus shared), not the others.
 */
export function layerForwardFlopsPerToken(model: ModelShape, kind: LayerKind = 'dense'): number {
  const h = model.hidden;
  const projections = 2 * h * qkvWidth(model) + 2 * attentionWidth(model) * h;
  const moe = moeOf(model);
  const mlp = kind === 'moe' && moe !== undefined
    ? 2 * h * moe.experts + (moe.expertsPerToken + moe.sharedExperts) * mlpFlopsPerToken(model, moe.moeFfnHidden)
    : mlpFlopsPerToken(model, model.ffnHidden);
  return projections + mlp + attentionProductFlopsPerToken(model);
}

/** Forward FLOPs per token of all the transformer layers. */
function layersForwardFlopsPerToken(model: ModelShape): number {
  const kinds = layerKindCounts(model, 0, model.layers);
  return kinds.dense * layerForwardFlopsPerToken(model, 'dense') + kinds.moe * layerForwardFlopsPerToken(model, 'moe');
}

/** The output projection to the vocabulary, forward, per token. */
export const logitsForwardFlopsPerToken = (model: ModelShape): number => 2 * model.hidden * model.vocab;

/**
 * Model FLOPs of one training step (forward + backward = 3 × forward), independent of how it is run.
 * For a GPT this is Narayanan et al. 2021's 72·B·s·L·h²·(1 + s/6h + V/12Lh).
 */
export function modelFlopsPerStep(model: ModelShape, sequences: number): number {
  const tokens = sequences * model.seqLength;
  return 3 * tokens * (layersForwardFlopsPerToken(model) + logitsForwardFlopsPerToken(model));
}

/**
 * FLOPs spent again by activation recomputation: a whole extra layer forward for `full` (Narayanan's 96 instead
 * of 72), the attention products for `selective` (Korthikanti et al. 2022 §5), none when flash attention already
 * recomputes inside its own backward kernel.
 */
export function recomputeFlopsPerStep(
  model: ModelShape, sequences: number, recompute: Recompute, flashAttention: boolean,
): number {
  const tokens = sequences * model.seqLength;
  if (recompute === 'full') return tokens * layersForwardFlopsPerToken(model);
  if (recompute === 'selective' && !flashAttention) return tokens * model.layers * attentionProductFlopsPerToken(model);
  return 0;
}
