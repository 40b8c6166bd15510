/**
 * The matrix multiply every layer is built on: out[M,N] (+)= op(a)[M,K] · op(b)[K,N].
 * transA: a is stored [K,M]; transB: b is stored [N,K]; accumulate adds into out instead of overwriting.
 *
 * The arguments are checked here, once for both backends; the product is computed by this thread's backend
 * (select.ts): the native GEMM reads any Float32Array in place, the WebAssembly one arrays from
 * allocFloat32 in place and copies any other through scratch. Only the first M*K, K*N and M*N elements of
 * a, b and out are used. out must not overlap a or b (the result is written while a and b are still being
 * read); a and b may overlap each other.
 */
import { GEMM_ACCUMULATE, GEMM_TRANS_A, GEMM_TRANS_B } from './backend.js';
import { kernelAddress } from './kernel-memory.js';
import { activeKernels } from './select.js';

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
  checkDimension('M', M);
  checkDimension('K', K);
  checkDimension('N', N);
  const aLength = M * K;
  const bLength = K * N;
  const outLength = M * N;
  // shapes are spelled out only for a message: building them on every call cost 0.45 µs, a third of a 1x1x1 call
  if (a.length < aLength) throw tooShort('a', a, aLength, transA ? `[K=${K}, M=${M}]` : `[M=${M}, K=${K}]`);
  if (b.length < bLength) throw tooShort('b', b, bLength, transB ? `[N=${N}, K=${K}]` : `[K=${K}, N=${N}]`);
  if (out.length < outLength) throw tooShort('out', out, outLength, `[M=${M}, N=${N}]`);
  checkDisjoint(out, outLength, a, aLength, 'a');
  checkDisjoint(out, outLength, b, bLength, 'b');
  if (outLength === 0) return;
  const flags = (transA ? GEMM_TRANS_A : 0) | (transB ? GEMM_TRANS_B : 0) | (accumulate ? GEMM_ACCUMULATE : 0);
  activeKernels().gemm(out, a, b, M, K, N, flags);
}

function checkDimension(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`matmul ${name} must be a non-negative integer, got ${value}`);
  }
}

function tooShort(name: string, array: Float32Array, needed: number, shape: string): RangeError {
  return new RangeError(`matmul ${name} holds ${array.length} elements but its shape ${shape} needs ${needed}`);
}

/** Throws when out's used range overlaps the used range of an input (same buffer or both in kernel memory). */
function checkDisjoint(out: Float32Array, outLength: number, input: Float32Array, inputLength: number, name: string): void {
  if (outLength === 0 || inputLength === 0) return;
  const sameMemory = out.buffer === input.buffer || (kernelAddress(out) >= 0 && kernelAddress(input) >= 0);
  if (!sameMemory) return;
  const outStart = out.byteOffset;
  const inputStart = input.byteOffset;
  if (outStart < inputStart + inputLength * 4 && inputStart < outStart + outLength * 4) {
    throw new RangeError(`matmul out overlaps ${name}: write the product into a separate array`);
  }
}
