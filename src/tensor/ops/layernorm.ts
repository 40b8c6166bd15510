/**
 * Layer normalisation over the last axis, as GPT-2 uses it: out = (x - mean) / sqrt(var + eps) * weight + bias.
 * The forward stashes mean and rstd (1/std) per row so the backward need not recompute them.
 */
export const LAYER_NORM_EPS = 1e-5;

/** out[N,C], mean[N], rstd[N] from inp[N,C], weight[C], bias[C]; out may not alias inp. */
export function layerNormForward(
  out: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
  inp: Float32Array,
  weight: Float32Array,
  bias: Float32Array,
  N: number,
  C: number,
): void {
  for (let n = 0; n < N; n++) {
    const row = n * C;
    // One pass for both moments: double accumulators keep E[x^2] - mean^2 exact enough for float32 data.
    let sum = 0;
    let squares = 0;
    for (let c = 0; c < C; c++) {
      const value = inp[row + c]!;
      sum += value;
      squares += value * value;
    }
    const exactMean = sum / C;
    const variance = Math.max(0, squares / C - exactMean * exactMean);
    // Rounded once so the backward sees exactly the statistics the forward used.
    const m = Math.fround(exactMean);
    const s = Math.fround(1 / Math.sqrt(variance + LAYER_NORM_EPS));
    for (let c = 0; c < C; c++) out[row + c] = (inp[row + c]! - m) * s * weight[c]! + bias[c]!;
    mean[n] = m;
    rstd[n] = s;
  }
}

/**
 * dinp[N,C] += dX from dout[N,C]. Accumulates, so a residual stream's gradient sums in without a copy:
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dout * weight, xhat = (x - mean) * rstd.
 */
export function layerNormBackwardInput(
  dinp: Float32Array,
  dout: Float32Array,
  inp: Float32Array,
  weight: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
  N: number,
  C: number,
): void {
  for (let n = 0; n < N; n++) {
    const row = n * C;
    const m = mean[n]!;
    const s = rstd[n]!;
    let gradSum = 0;
    let gradDotXhat = 0;
    for (let c = 0; c < C; c++) {
      const g = dout[row + c]! * weight[c]!;
      gradSum += g;
      gradDotXhat += g * (inp[row + c]! - m) * s;
    }
    const gradMean = gradSum / C;
    const gradDotXhatMean = gradDotXhat / C;
    for (let c = 0; c < C; c++) {
      const g = dout[row + c]! * weight[c]!;
      const xhat = (inp[row + c]! - m) * s;
      dinp[row + c]! += s * (g - gradMean - xhat * gradDotXhatMean);
    }
  }
}

/** dweight[C] += Σ_n dout * xhat, dbias[C] += Σ_n dout (accumulate, like every weight gradient). */
export function layerNormBackwardWeight(
  dweight: Float32Array,
  dbias: Float32Array,
  dout: Float32Array,
  inp: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
  N: number,
  C: number,
): void {
  for (let n = 0; n < N; n++) {
    const row = n * C;
    const m = mean[n]!;
    const s = rstd[n]!;
    for (let c = 0; c < C; c++) {
      const d = dout[row + c]!;
      dweight[c]! += d * (inp[row + c]! - m) * s;
      dbias[c]! += d;
    }
  }
}
