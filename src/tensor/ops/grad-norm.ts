/** Pieces of global-norm gradient clipping that a rank computes locally. */

/** Σ x[i]^2 over x[0..n) in double precision, in index order (the same on every rank). */
export function sumOfSquares(x: Float32Array, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[i]! * x[i]!;
  return sum;
}

/** The factor gradients are multiplied by so their global norm is at most maxNorm (PyTorch's clip_grad_norm_). */
export function clipScale(globalNorm: number, maxNorm: number): number {
  return Math.min(1, maxNorm / (globalNorm + 1e-6));
}
