/** One AdamW update of one tensor: Adam with bias correction and decoupled weight decay (Loshchilov & Hutter). */

export interface AdamWHyperparameters {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** 0 for tensors that are not decayed. */
  readonly weightDecay: number;
}

/**
 * Updates param, m and v (each [n]) in place from grad * gradScale (the clip factor, applied on the fly).
 * step counts from 1. p -= lr * (mhat / (sqrt(vhat) + eps) + weightDecay * p), the old p in the decay term.
 */
export function adamwUpdate(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  n: number,
  step: number,
  gradScale: number,
  hyper: AdamWHyperparameters,
): void {
  const { learningRate, beta1, beta2, epsilon, weightDecay } = hyper;
  const firstCorrection = 1 - Math.pow(beta1, step);
  const secondCorrection = 1 - Math.pow(beta2, step);
  for (let i = 0; i < n; i++) {
    const g = grad[i]! * gradScale;
    // Rounded as stored, so this step uses exactly the state a checkpoint would hold.
    const mi = Math.fround(beta1 * m[i]! + (1 - beta1) * g);
    const vi = Math.fround(beta2 * v[i]! + (1 - beta2) * g * g);
    m[i] = mi;
    v[i] = vi;
    const mHat = mi / firstCorrection;
    const vHat = vi / secondCorrection;
    const p = param[i]!;
    param[i] = p - learningRate * (mHat / (Math.sqrt(vHat) + epsilon) + weightDecay * p);
  }
}
