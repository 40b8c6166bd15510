/** The bias of a linear layer: broadcast over rows forward, summed over rows backward. */

/** out[N,C] += bias[C] on every row. */
export function addBias(out: Float32Array, bias: Float32Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const row = n * C;
    for (let c = 0; c < C; c++) out[row + c] += bias[c];
  }
}

/** dbias[C] += Σ_n dout[n, c] (accumulate). */
export function biasBackward(dbias: Float32Array, dout: Float32Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const row = n * C;
    for (let c = 0; c < C; c++) dbias[c] += dout[row + c];
  }
}
