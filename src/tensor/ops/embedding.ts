/** Token plus learned position embedding; the backward is a scatter-add into both tables. */

/** out[B,T,C] = wte[tokens[b,t]] + wpe[t]; tokens [B,T] must lie in [0, V), T within wpe's rows. */
export function embeddingForward(
  out: Float32Array,
  tokens: Int32Array,
  wte: Float32Array,
  wpe: Float32Array,
  B: number,
  T: number,
  C: number,
): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * C;
      const tokenRow = tokens[b * T + t]! * C;
      const positionRow = t * C;
      for (let c = 0; c < C; c++) out[row + c] = wte[tokenRow + c]! + wpe[positionRow + c]!;
    }
  }
}

/** dwte[V,C] += dout rows at their tokens, dwpe[T,C] += dout rows at their positions (accumulate). */
export function embeddingBackward(
  dwte: Float32Array,
  dwpe: Float32Array,
  dout: Float32Array,
  tokens: Int32Array,
  B: number,
  T: number,
  C: number,
): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * C;
      const tokenRow = tokens[b * T + t]! * C;
      const positionRow = t * C;
      for (let c = 0; c < C; c++) {
        const d = dout[row + c]!;
        dwte[tokenRow + c]! += d;
        dwpe[positionRow + c]! += d;
      }
    }
  }
}
