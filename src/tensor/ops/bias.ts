/** The bias of a linear layer: broadcast over rows forward, summed over rows backward. */

/** out[N,C] = bias[C] on every row (a row copy each), for a matmul to accumulate onto. */
export function fillRowsWithBias(out: Float32Array, bias: Float32Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) out.set(bias, n * C);
}

/** dbias[C] += Σ_n dout[n, c] (accumulate), four rows per pass over dbias. */
export function biasBackward(dbias: Float32Array, dout: Float32Array, N: number, C: number): void {
  let n = 0;
  for (; n + 4 <= N; n += 4) {
    const r0 = n * C;
    const r1 = r0 + C;
    const r2 = r1 + C;
    const r3 = r2 + C;
    for (let c = 0; c < C; c++) dbias[c]! += dout[r0 + c]! + dout[r1 + c]! + (dout[r2 + c]! + dout[r3 + c]!);
  }
  for (; n < N; n++) {
    const row = n * C;
    for (let c = 0; c < C; c++) dbias[c]! += dout[row + c]!;
  }
}
