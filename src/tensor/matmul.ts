/**
 * The matrix multiply every layer is built on: out[M,N] (+)= op(a)[M,K] · op(b)[K,N].
 * transA: a is stored [K,M]; transB: b is stored [N,K]; accumulate adds into out instead of overwriting.
 * Reference implementation in plain loops; the WebAssembly SIMD kernel replaces the body, not the signature.
 */
export interface MatmulOptions {
  readonly transA?: boolean;
  readonly transB?: boolean;
  readonly accumulate?: boolean;
}

export function matmul(
  out: Float32Array,
  a: Float32Array,
  b: Float32Array,
  M: number,
  K: number,
  N: number,
  options: MatmulOptions = {},
): void {
  const { transA = false, transB = false, accumulate = false } = options;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const aik = transA ? a[k * M + i]! : a[i * K + k]!;
        const bkj = transB ? b[j * K + k]! : b[k * N + j]!;
        sum += aik * bkj;
      }
      out[i * N + j] = accumulate ? out[i * N + j]! + sum : sum;
    }
  }
}

/** A Float32Array for model state; the WebAssembly build places it in kernel memory so matmul reads it in place. */
export function allocFloat32(length: number): Float32Array {
  return new Float32Array(length);
}
