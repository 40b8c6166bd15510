import { headDim, mlpInputMatrices, qkvWidth, type ModelShape } from './model.js';
import type { Recompute } from './plan.js';

/** Matrix-multiply FLOPs of one layer's forward pass per token: projections, MLP and the two attention products. */
export function layerForwardFlopsPerToken(model: ModelShape): number {
  const h = model.hidden;
  const f = model.ffnHidden;
  const projections = 2 * h * qkvWidth(model) + 2 * model.heads * headDim(model) * h;
  const mlp = 2 * h * f * mlpInputMatrices(model) + 2 * f * h;
  const attention = 4 * model.seqLength * model.heads * headDim(model); // Q·Kᵀ and scores·V over the full s×s square
  return projections + mlp + attention;
}

/** The output projection to the vocabulary, forward, per token. */
export const logitsForwardFlopsPerToken = (model: ModelShape): number => 2 * model.hidden * model.vocab;

/**
 * Model FLOPs of one training step (forward + backward = 3 × forward), independent of how it is run.
 * For a GPT this is Narayanan et al. 2021's 72·B·s·L·h²·(1 + s/6h + V/12Lh).
 */
export function modelFlopsPerStep(model: ModelShape, sequences: number): number {
  const tokens = sequences * model.seqLength;
  return 3 * tokens * (model.layers * layerForwardFlopsPerToken(model) + logitsForwardFlopsPerToken(model));
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
  if (recompute === 'full') return tokens * model.layers * layerForwardFlopsPerToken(model);
  if (recompute === 'selective' && !flashAttention) {
    return tokens * model.layers * 4 * model.seqLength * model.heads * headDim(model);
  }
  return 0;
}
