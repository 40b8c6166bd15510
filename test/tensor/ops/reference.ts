/**
 * Straightforward float64 references of every kernel, written from the published formulas with no
 * tricks (no max shift, no stashes, no GEMM), for tests to compare against and to differentiate numerically.
 */
type Vector = ArrayLike<number>;

export function referenceLayerNorm(x: Vector, weight: Vector, bias: Vector, N: number, C: number): Float64Array {
  const out = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x[n * C + c]! / C;
    let variance = 0;
    for (let c = 0; c < C; c++) variance += (x[n * C + c]! - mean) ** 2 / C;
    for (let c = 0; c < C; c++) {
      out[n * C + c] = ((x[n * C + c]! - mean) / Math.sqrt(variance + 1e-5)) * weight[c]! + bias[c]!;
    }
  }
  return out;
}

export function referenceGelu(x: Vector): Float64Array {
  return Float64Array.from(x as ArrayLike<number>, (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
}

export function referenceSoftmax(x: Vector, rows: number, cols: number, scale: number, causal: boolean): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const visible = causal ? (r % cols) + 1 : cols;
    let sum = 0;
    for (let j = 0; j < visible; j++) sum += Math.exp(scale * x[r * cols + j]!);
    for (let j = 0; j < visible; j++) out[r * cols + j] = Math.exp(scale * x[r * cols + j]!) / sum;
  }
  return out;
}

/** y[B,T,C] of causal attention from qkv[B,T,3C] (q | k | v, head h at columns h*hs). */
export function referenceAttention(qkv: Vector, B: number, T: number, C: number, NH: number): Float64Array {
  const hs = C / NH;
  const y = new Float64Array(B * T * C);
  const at = (b: number, t: number, part: number, h: number, d: number) => qkv[(b * T + t) * 3 * C + part * C + h * hs + d]!;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let t = 0; t < T; t++) {
        const weights: number[] = [];
        for (let s = 0; s <= t; s++) {
          let score = 0;
          for (let d = 0; d < hs; d++) score += at(b, t, 0, h, d) * at(b, s, 1, h, d);
          weights.push(Math.exp(score / Math.sqrt(hs)));
        }
        const total = weights.reduce((a, w) => a + w, 0);
        for (let d = 0; d < hs; d++) {
          let value = 0;
          for (let s = 0; s <= t; s++) value += (weights[s]! / total) * at(b, s, 2, h, d);
          y[(b * T + t) * C + h * hs + d] = value;
        }
      }
    }
  }
  return y;
}

export function referenceEmbedding(tokens: Int32Array, wte: Vector, wpe: Vector, B: number, T: number, C: number): Float64Array {
  const out = new Float64Array(B * T * C);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < C; c++) out[(b * T + t) * C + c] = wte[tokens[b * T + t]! * C + c]! + wpe[t * C + c]!;
    }
  }
  return out;
}

/** Mean over N of -log softmax(logits)[target]. */
export function referenceCrossEntropy(logits: Vector, targets: Int32Array, N: number, V: number): number {
  let total = 0;
  for (let n = 0; n < N; n++) {
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[n * V + v]!);
    total += Math.log(sum) - logits[n * V + targets[n]!]!;
  }
  return total / N;
}

/** y[N,out] = x·W + b with W [in,out] ('in-out') or x·Wᵀ with W [out,in] ('out-in'). */
export function referenceLinear(
  x: Vector,
  weight: Vector,
  bias: Vector | null,
  N: number,
  inFeatures: number,
  outFeatures: number,
  layout: 'in-out' | 'out-in',
): Float64Array {
  const y = new Float64Array(N * outFeatures);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < outFeatures; o++) {
      let sum = bias === null ? 0 : bias[o]!;
      for (let i = 0; i < inFeatures; i++) {
        const w = layout === 'in-out' ? weight[i * outFeatures + o]! : weight[o * inFeatures + i]!;
        sum += x[n * inFeatures + i]! * w;
      }
      y[n * outFeatures + o] = sum;
    }
  }
  return y;
}
