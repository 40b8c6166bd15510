import { fastExp } from './exp.js';

/**
 * Row softmax of scale * inp over [rows, cols]. With causal set, rows come in square [cols, cols] blocks
 * (one per batch and head) and row r sees only columns 0 ..= r mod cols; the masked columns are 0.
 */

/** Number of columns row r may attend to. */
function visibleColumns(row: number, cols: number, causal: boolean): number {
  return causal ? (row % cols) + 1 : cols;
}

/**
 * Writes softmax(scale * inp[offset .. offset+count)) into out at the same offset and returns the row's
 * log-sum-exp of scale * inp in double precision (cross-entropy reads the loss from it). out may alias inp.
 */
export function softmaxRow(out: Float32Array, inp: Float32Array, offset: number, count: number, scale: number): number {
  let max = -Infinity;
  for (let j = 0; j < count; j++) {
    const value = inp[offset + j]!;
    if (value > max) max = value;
  }
  const shift = scale * max;
  let sum = 0;
  for (let j = 0; j < count; j++) {
    const e = fastExp(scale * inp[offset + j]! - shift);
    out[offset + j] = e;
    sum += e;
  }
  const inverse = 1 / sum;
  for (let j = 0; j < count; j++) out[offset + j]! *= inverse;
  return shift + Math.log(sum);
}

/** out[rows, cols] = softmax(scale * inp) row by row; out may alias inp. */
export function softmaxForward(
  out: Float32Array,
  inp: Float32Array,
  rows: number,
  cols: number,
  scale: number,
  causal: boolean,
): void {
  for (let r = 0; r < rows; r++) {
    const offset = r * cols;
    const visible = visibleColumns(r, cols, causal);
    softmaxRow(out, inp, offset, visible, scale);
    out.fill(0, offset + visible, offset + cols);
  }
}

/** dinp = scale * out * (dout - Σ_j out_j dout_j) per row (overwrites, masked columns 0); dinp may alias dout. */
export function softmaxBackward(
  dinp: Float32Array,
  out: Float32Array,
  dout: Float32Array,
  rows: number,
  cols: number,
  scale: number,
  causal: boolean,
): void {
  for (let r = 0; r < rows; r++) {
    const offset = r * cols;
    const visible = visibleColumns(r, cols, causal);
    let dot = 0;
    for (let j = 0; j < visible; j++) dot += out[offset + j]! * dout[offset + j]!;
    for (let j = 0; j < visible; j++) {
      const i = offset + j;
      dinp[i] = scale * out[i]! * (dout[i]! - dot);
    }
    dinp.fill(0, offset + visible, offset + cols);
  }
}
