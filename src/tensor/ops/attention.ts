/**
 * Causal multi-head self-attention on the GEMM: per (batch, head), scores = q·kᵀ / sqrt(hs), causal softmax,
 * out = att·v. q, k and v are gathered into a head-major stash [3, B, NH, T, hs] so each head's rows are
 * contiguous for matmul, and the backward runs the transposed GEMMs on the same blocks.
 */
import { matmul } from '../matmul.js';
import { softmaxBackward, softmaxForward } from './softmax.js';

/** Per-(batch, head) temporaries, reused for every head and every step. */
export interface AttentionScratch {
  readonly headRows: Float32Array; // [T, hs]
  readonly headRowsGrad: Float32Array; // [T, hs]
  readonly scoresGrad: Float32Array; // [T, T]
}

/** Float32 lengths of the scratch for sequences of length T and head size hs. */
export function attentionScratchLayout(T: number, headSize: number) {
  return { headRows: T * headSize, headRowsGrad: T * headSize, scoresGrad: T * T };
}

/** Where head h of part (0 q, 1 k, 2 v) of sequence b starts in the head-major stash. */
function headOffset(part: number, b: number, h: number, B: number, NH: number, T: number, headSize: number): number {
  return ((part * B + b) * NH + h) * T * headSize;
}

/** block[T, hs] at blockOffset = the head's columns of sequence b in a token-major tensor [B, T, rowStride]. */
function gatherHead(
  block: Float32Array,
  blockOffset: number,
  tokenMajor: Float32Array,
  b: number,
  T: number,
  rowStride: number,
  columnOffset: number,
  headSize: number,
): void {
  for (let t = 0; t < T; t++) {
    const source = (b * T + t) * rowStride + columnOffset;
    const target = blockOffset + t * headSize;
    for (let d = 0; d < headSize; d++) block[target + d] = tokenMajor[source + d]!;
  }
}

/** The inverse of gatherHead: writes a contiguous [T, hs] block into the head's columns of sequence b. */
function scatterHead(
  tokenMajor: Float32Array,
  block: Float32Array,
  b: number,
  T: number,
  rowStride: number,
  columnOffset: number,
  headSize: number,
): void {
  for (let t = 0; t < T; t++) {
    const target = (b * T + t) * rowStride + columnOffset;
    const source = t * headSize;
    for (let d = 0; d < headSize; d++) tokenMajor[target + d] = block[source + d]!;
  }
}

/** The [T, hs] blocks of q, k, v and the [T, T] probabilities of one (sequence, head). */
function headViews(
  qkvHeads: Float32Array,
  att: Float32Array,
  b: number,
  h: number,
  B: number,
  NH: number,
  T: number,
  headSize: number,
) {
  const view = (part: number) => {
    const offset = headOffset(part, b, h, B, NH, T, headSize);
    return qkvHeads.subarray(offset, offset + T * headSize);
  };
  const attOffset = (b * NH + h) * T * T;
  return { q: view(0), k: view(1), v: view(2), probabilities: att.subarray(attOffset, attOffset + T * T) };
}

/**
 * y[B,T,C] = attention output (heads concatenated); qkvHeads[3,B,NH,T,hs] and att[B,NH,T,T] (the softmax
 * probabilities, zero above the diagonal) are written for the backward. qkv is the c_attn output [B,T,3C].
 */
export function attentionForward(
  y: Float32Array,
  qkvHeads: Float32Array,
  att: Float32Array,
  qkv: Float32Array,
  scratch: AttentionScratch,
  B: number,
  T: number,
  C: number,
  NH: number,
): void {
  const headSize = C / NH;
  const scale = 1 / Math.sqrt(headSize);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let part = 0; part < 3; part++) {
        const offset = headOffset(part, b, h, B, NH, T, headSize);
        gatherHead(qkvHeads, offset, qkv, b, T, 3 * C, part * C + h * headSize, headSize);
      }
      const { q, k, v, probabilities: scores } = headViews(qkvHeads, att, b, h, B, NH, T, headSize);
      matmul(scores, q, k, T, headSize, T, { transB: true });
      softmaxForward(scores, scores, T, T, scale, true);
      matmul(scratch.headRows, scores, v, T, T, headSize);
      scatterHead(y, scratch.headRows, b, T, C, h * headSize, headSize);
    }
  }
}

/** dqkv[B,T,3C] (overwritten) from dy[B,T,C] and the forward's qkvHeads and att. */
export function attentionBackward(
  dqkv: Float32Array,
  dy: Float32Array,
  qkvHeads: Float32Array,
  att: Float32Array,
  scratch: AttentionScratch,
  B: number,
  T: number,
  C: number,
  NH: number,
): void {
  const headSize = C / NH;
  const scale = 1 / Math.sqrt(headSize);
  const { headRows: dHeadOut, headRowsGrad: dPart, scoresGrad } = scratch;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const { q, k, v, probabilities } = headViews(qkvHeads, att, b, h, B, NH, T, headSize);
      gatherHead(dHeadOut, 0, dy, b, T, C, h * headSize, headSize);
      // dv = attᵀ · dOut
      matmul(dPart, probabilities, dHeadOut, T, T, headSize, { transA: true });
      scatterHead(dqkv, dPart, b, T, 3 * C, 2 * C + h * headSize, headSize);
      // dAtt = dOut · vᵀ, then through the softmax (and the 1/sqrt(hs) scale) in place
      matmul(scoresGrad, dHeadOut, v, T, headSize, T, { transB: true });
      softmaxBackward(scoresGrad, probabilities, scoresGrad, T, T, scale, true);
      // dq = dScores · k
      matmul(dPart, scoresGrad, k, T, T, headSize);
      scatterHead(dqkv, dPart, b, T, 3 * C, h * headSize, headSize);
      // dk = dScoresᵀ · q
      matmul(dPart, scoresGrad, q, T, T, headSize, { transA: true });
      scatterHead(dqkv, dPart, b, T, 3 * C, C + h * headSize, headSize);
    }
  }
}
