// GEMM in AssemblyScript, compiled to WebAssembly SIMD by scripts/build-wasm.mjs.
// c[M,N] (+)= op(a)[M,K] · op(b)[K,N]; every pointer is a byte address in the shared kernel memory.
// Blocked like BLIS: B is packed into [KC, 8] panels, A into [KC, 4] micro-panels (each splatted to whole
// vectors just before use), and a 4x8 register tile (eight f32x4 accumulators) runs over them, so all
// layouts share one inner loop. docs/kernels.md explains the choices.

const MR: i32 = 4; // rows of the register tile
const NR: i32 = 8; // columns of the register tile (two f32x4 vectors)
// Block sizes measured best on an AMD EPYC (Zen 4) with 32 KB L1d and 2 MB L2 per core.
const KC: i32 = 256; // k-steps per packed block: a splatted A micro-panel is 16 KB, stays in L1
const MC: i32 = 128; // rows of A packed at a time
const NC: i32 = 1024; // columns of B per packed block: 1 MB, stays in L2 while A micro-panels sweep it

const FLAG_TRANS_A: i32 = 1;
const FLAG_TRANS_B: i32 = 2;
const FLAG_ACCUMULATE: i32 = 4;

const PACKED_A_BYTES: usize = <usize>(MC * KC * 4);
const PACKED_B_BYTES: usize = <usize>(KC * NC * 4);
const SPLAT_A_BYTES: usize = <usize>(KC * MR * 16);
const EDGE_TILE_BYTES: usize = <usize>(MR * NR * 4);

/** Bytes of scratch gemm needs: packed A block, packed B block, one splatted A micro-panel and one edge tile. */
export function scratchBytes(): usize {
  return PACKED_A_BYTES + PACKED_B_BYTES + SPLAT_A_BYTES + EDGE_TILE_BYTES;
}

/** First byte after this module's static data; the host allocator must start at or above it. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * c[M,N] (+)= op(a)[M,K] · op(b)[K,N]. flags: 1 = a is stored [K,M], 2 = b is stored [N,K], 4 = add into c.
 * scratch points at scratchBytes() bytes that overlap none of a, b, c; c overlaps neither a nor b.
 */
export function gemm(c: usize, a: usize, b: usize, M: i32, K: i32, N: i32, flags: i32, scratch: usize): void {
  const transA = (flags & FLAG_TRANS_A) != 0;
  const transB = (flags & FLAG_TRANS_B) != 0;
  const accumulate = (flags & FLAG_ACCUMULATE) != 0;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) memory.fill(c, 0, <usize>M * <usize>N * 4);
    return;
  }
  const packedA = scratch;
  const packedB = scratch + PACKED_A_BYTES;
  const splatA = packedB + PACKED_B_BYTES;
  const edgeTile = splatA + SPLAT_A_BYTES;
  const ldc = <usize>N * 4;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      // the first k-block overwrites c unless accumulating; later k-blocks add to it
      const loadC = accumulate || pc > 0;
      if (transB) packTransposed(packedB, b + (<usize>jc * <usize>K + <usize>pc) * 4, K, nc, kc, NR);
      else packContiguous(packedB, b + (<usize>pc * <usize>N + <usize>jc) * 4, N, nc, kc, NR);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        if (transA) packContiguous(packedA, a + (<usize>pc * <usize>M + <usize>ic) * 4, M, mc, kc, MR);
        else packTransposed(packedA, a + (<usize>ic * <usize>K + <usize>pc) * 4, K, mc, kc, MR);
        // one A micro-panel stays in L1 while the B panels stream past it and c is walked along its rows
        for (let ir = 0; ir < mc; ir += MR) {
          const mr = min(MR, mc - ir);
          splatMicroPanel(splatA, packedA + <usize>ir * <usize>kc * 4, kc);
          for (let jr = 0; jr < nc; jr += NR) {
            const nr = min(NR, nc - jr);
            const panelB = packedB + <usize>jr * <usize>kc * 4;
            const tile = c + <usize>(ic + ir) * ldc + <usize>(jc + jr) * 4;
            if (mr == MR && nr == NR) {
              microkernel(splatA, panelB, kc, tile, ldc, loadC);
            } else {
              microkernel(splatA, panelB, kc, edgeTile, <usize>NR * 4, false);
              mergeEdgeTile(tile, ldc, edgeTile, mr, nr, loadC);
            }
          }
        }
      }
    }
  }
}

/**
 * The 4x8 register tile: c[4,8] (+)= Σ_k splatA[k,0..3]ᵀ · panelB[k,0..7].
 * splatA holds, per k, each of the 4 row values repeated in a whole f32x4 (64 bytes); panelB holds
 * 8 floats per k (one per column); c rows are ldc bytes apart.
 */
function microkernel(splatA: usize, panelB: usize, kc: i32, c: usize, ldc: usize, loadC: bool): void {
  const c1 = c + ldc;
  const c2 = c1 + ldc;
  const c3 = c2 + ldc;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (loadC) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    c10 = v128.load(c1); c11 = v128.load(c1, 16);
    c20 = v128.load(c2); c21 = v128.load(c2, 16);
    c30 = v128.load(c3); c31 = v128.load(c3, 16);
  }
  // Two k-steps per trip, each its own basic block: V8 hoists a block's loads to its top, and twelve
  // live loads beside eight accumulators would spill. The mid-trip exit is also where an odd kc ends.
  const end = splatA + <usize>kc * 64;
  const lastStep = end - 64;
  let pa = splatA;
  let pb = panelB;
  while (pa != end) {
    let b0 = v128.load(pb);
    let b1 = v128.load(pb, 16);
    let ai = v128.load(pa);
    c00 = f32x4.add(c00, f32x4.mul(ai, b0)); c01 = f32x4.add(c01, f32x4.mul(ai, b1));
    ai = v128.load(pa, 16);
    c10 = f32x4.add(c10, f32x4.mul(ai, b0)); c11 = f32x4.add(c11, f32x4.mul(ai, b1));
    ai = v128.load(pa, 32);
    c20 = f32x4.add(c20, f32x4.mul(ai, b0)); c21 = f32x4.add(c21, f32x4.mul(ai, b1));
    ai = v128.load(pa, 48);
    c30 = f32x4.add(c30, f32x4.mul(ai, b0)); c31 = f32x4.add(c31, f32x4.mul(ai, b1));
    if (pa == lastStep) break;
    b0 = v128.load(pb, 32);
    b1 = v128.load(pb, 48);
    ai = v128.load(pa, 64);
    c00 = f32x4.add(c00, f32x4.mul(ai, b0)); c01 = f32x4.add(c01, f32x4.mul(ai, b1));
    ai = v128.load(pa, 80);
    c10 = f32x4.add(c10, f32x4.mul(ai, b0)); c11 = f32x4.add(c11, f32x4.mul(ai, b1));
    ai = v128.load(pa, 96);
    c20 = f32x4.add(c20, f32x4.mul(ai, b0)); c21 = f32x4.add(c21, f32x4.mul(ai, b1));
    ai = v128.load(pa, 112);
    c30 = f32x4.add(c30, f32x4.mul(ai, b0)); c31 = f32x4.add(c31, f32x4.mul(ai, b1));
    pa += 128;
    pb += 64;
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c1, c10); v128.store(c1, c11, 16);
  v128.store(c2, c20); v128.store(c2, c21, 16);
  v128.store(c3, c30); v128.store(c3, c31, 16);
}

/** Repeats every float of an A micro-panel [kc,4] across a whole f32x4: splatA is [kc,4,4]. */
function splatMicroPanel(splatA: usize, panelA: usize, kc: i32): void {
  const end = panelA + <usize>kc * 16;
  let to = splatA;
  for (let from = panelA; from < end; from += 16) {
    const rows = v128.load(from);
    v128.store(to, i32x4.shuffle(rows, rows, 0, 0, 0, 0));
    v128.store(to, i32x4.shuffle(rows, rows, 1, 1, 1, 1), 16);
    v128.store(to, i32x4.shuffle(rows, rows, 2, 2, 2, 2), 32);
    v128.store(to, i32x4.shuffle(rows, rows, 3, 3, 3, 3), 48);
    to += 64;
  }
}

/** Writes (or adds) the valid mr x nr corner of a computed [4,8] tile into c. */
function mergeEdgeTile(c: usize, ldc: usize, tile: usize, mr: i32, nr: i32, loadC: bool): void {
  for (let i = 0; i < mr; i++) {
    const row = c + <usize>i * ldc;
    const tileRow = tile + <usize>(i * NR * 4);
    for (let j = 0; j < nr; j++) {
      const offset = <usize>j * 4;
      const value = load<f32>(tileRow + offset);
      store<f32>(row + offset, loadC ? load<f32>(row + offset) + value : value);
    }
  }
}

/**
 * Packs panels of width w (4 or 8) from a block whose panel index runs along memory:
 * element (k, p) sits at src + (k*ld + p)*4 (B as stored, or A stored transposed).
 * Output: ceil(count/w) panels, each [kc, w], zero-padded past count.
 */
function packContiguous(dst: usize, src: usize, ld: i32, count: i32, kc: i32, w: i32): void {
  const lineStride = <usize>ld * 4;
  const panelStride = <usize>w * 4;
  for (let p0 = 0; p0 < count; p0 += w) {
    const valid = min(w, count - p0);
    let from = src + <usize>p0 * 4;
    if (valid == w) {
      for (let k = 0; k < kc; k++) {
        v128.store(dst, v128.load(from));
        if (w == 8) v128.store(dst, v128.load(from, 16), 16);
        from += lineStride;
        dst += panelStride;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let p = 0; p < w; p++) {
          const offset = <usize>p * 4;
          if (p < valid) store<f32>(dst + offset, load<f32>(from + offset));
          else store<f32>(dst + offset, 0);
        }
        from += lineStride;
        dst += panelStride;
      }
    }
  }
}

/**
 * Packs panels of width w (4 or 8) from a block whose k index runs along memory:
 * element (k, p) sits at src + (p*ld + k)*4 (A as stored, or B stored transposed).
 * Output as packContiguous; whole 4x4 blocks are transposed with shuffles.
 */
function packTransposed(dst: usize, src: usize, ld: i32, count: i32, kc: i32, w: i32): void {
  const lineStride = <usize>ld * 4;
  const panelStride = <usize>w * 4;
  const kcWhole = kc & ~3;
  for (let p0 = 0; p0 < count; p0 += w) {
    const valid = min(w, count - p0);
    const lines = src + <usize>p0 * lineStride;
    let p = 0;
    for (; p + 4 <= valid; p += 4) {
      const line0 = lines + <usize>p * lineStride;
      const line1 = line0 + lineStride;
      const line2 = line1 + lineStride;
      const line3 = line2 + lineStride;
      let out = dst + <usize>p * 4;
      for (let k = 0; k < kcWhole; k += 4) {
        const offset = <usize>k * 4;
        const r0 = v128.load(line0 + offset);
        const r1 = v128.load(line1 + offset);
        const r2 = v128.load(line2 + offset);
        const r3 = v128.load(line3 + offset);
        const low01 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
        const low23 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
        const high01 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
        const high23 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
        v128.store(out, i32x4.shuffle(low01, low23, 0, 1, 4, 5));
        v128.store(out + panelStride, i32x4.shuffle(low01, low23, 2, 3, 6, 7));
        v128.store(out + 2 * panelStride, i32x4.shuffle(high01, high23, 0, 1, 4, 5));
        v128.store(out + 3 * panelStride, i32x4.shuffle(high01, high23, 2, 3, 6, 7));
        out += 4 * panelStride;
      }
      for (let k = kcWhole; k < kc; k++) {
        const offset = <usize>k * 4;
        store<f32>(out, load<f32>(line0 + offset));
        store<f32>(out, load<f32>(line1 + offset), 4);
        store<f32>(out, load<f32>(line2 + offset), 8);
        store<f32>(out, load<f32>(line3 + offset), 12);
        out += panelStride;
      }
    }
    // lines of a ragged panel that do not fill a group of four, then zeros up to the panel width
    for (; p < w; p++) {
      const line = lines + <usize>p * lineStride;
      let out = dst + <usize>p * 4;
      for (let k = 0; k < kc; k++) {
        if (p < valid) store<f32>(out, load<f32>(line + <usize>k * 4));
        else store<f32>(out, 0);
        out += panelStride;
      }
    }
    dst += <usize>kc * panelStride;
  }
}
