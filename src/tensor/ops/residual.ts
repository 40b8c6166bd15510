/**
 * The residual connection x + f(x). Its backward is the identity on both branches, so the block copies
 * dOut into the skip's gradient and lets the layer norm's backward accumulate into it; no kernel needed.
 */

/** out[n] = a[n] + b[n]; out may alias either input. */
export function residualForward(out: Float32Array, a: Float32Array, b: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
}
