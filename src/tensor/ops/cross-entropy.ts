/** Softmax fused with the cross-entropy loss against integer targets, as the LM head ends. */
import { softmaxRow } from './softmax.js';

/**
 * probs[N,V] = softmax(logits) (probs may alias logits) and returns the mean over N of
 * -log p(target), computed as logsumexp - logit[target] in double precision so it never reads log(0).
 */
export function crossEntropyForward(
  probs: Float32Array,
  logits: Float32Array,
  targets: Int32Array,
  N: number,
  V: number,
): number {
  let lossSum = 0;
  for (let n = 0; n < N; n++) {
    const row = n * V;
    const targetLogit = logits[row + targets[n]!]!;
    lossSum += softmaxRow(probs, logits, row, V, 1) - targetLogit;
  }
  return lossSum / N;
}

/**
 * dlogits[N,V] = (probs - onehot(target)) * dLossPerToken (overwrites; may alias probs).
 * dLossPerToken is d(total loss)/d(one token's loss): the loss scale divided by N for a mean.
 */
export function crossEntropyBackward(
  dlogits: Float32Array,
  probs: Float32Array,
  targets: Int32Array,
  N: number,
  V: number,
  dLossPerToken: number,
): void {
  for (let n = 0; n < N; n++) {
    const row = n * V;
    for (let v = 0; v < V; v++) dlogits[row + v] = probs[row + v]! * dLossPerToken;
    dlogits[row + targets[n]!]! -= dLossPerToken;
  }
}
