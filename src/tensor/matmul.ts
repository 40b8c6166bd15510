/**
 * The matrix multiply every layer is built on: out[M,N] (+)= op(a)[M,K] · op(b)[K,N].
 * transA: a is stored [K,M]; transB: b is stored [N,K]; accumulate adds into out instead of overwriting.
 *
 * The work is done by the WebAssembly SIMD kernel in src/tensor/wasm/gemm.as.ts. Arrays from allocFloat32
 * live in kernel memory and are used in place; any other Float32Array is copied into scratch and back.
 * Only the first M*K, K*N and M*N elements of a, b and out are used. out must not overlap a or b
 * (the result is written while a and b are still being read); a and b may overlap each other.
 */
import { instantiateKernel, kernelAddress, kernelFloat32, scratchAddress } from './kernel-memory.js';

export { allocFloat32, KERNEL_ALIGNMENT, KERNEL_MEMORY_BYTES, kernelBytesInUse } from './kernel-memory.js';

export interface MatmulOptions {
  readonly transA?: boolean;
  readonly transB?: boolean;
  readonly accumulate?: boolean;
}

const kernel = instantiateKernel('gemm');
const gemm = kernel['gemm']!;
const packingBytes = kernel['scratchBytes']!();
/** Kernel memory the GEMM's packing scratch takes on each thread (once, the first time it multiplies). */
export const MATMUL_SCRATCH_BYTES = packingBytes;
const FLAG_TRANS_A = 1;
const FLAG_TRANS_B = 2;
const FLAG_ACCUMULATE = 4;
// staged copies start on cache lines, like allocations
const STAGING_ALIGNMENT = 64;

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
  checkLength('a', a, aLength, transA ? `[K=${K}, M=${M}]` : `[M=${M}, K=${K}]`);
  checkLength('b', b, bLength, transB ? `[N=${N}, K=${K}]` : `[K=${K}, N=${N}]`);
  checkLength('out', out, outLength, `[M=${M}, N=${N}]`);
  checkDisjoint(out, outLength, a, aLength, 'a');
  checkDisjoint(out, outLength, b, bLength, 'b');
  if (outLength === 0) return;

  let aAddress = kernelAddress(a);
  let bAddress = kernelAddress(b);
  let outAddress = kernelAddress(out);
  const stagingBytes =
    (aAddress < 0 ? stagedBytes(aLength) : 0) + (bAddress < 0 ? stagedBytes(bLength) : 0) + (outAddress < 0 ? stagedBytes(outLength) : 0);
  const scratch = scratchAddress(packingBytes + stagingBytes);
  let staging = scratch + packingBytes;
  if (aAddress < 0) {
    aAddress = staging;
    kernelFloat32(aAddress, aLength).set(a.subarray(0, aLength));
    staging += stagedBytes(aLength);
  }
  if (bAddress < 0) {
    bAddress = staging;
    kernelFloat32(bAddress, bLength).set(b.subarray(0, bLength));
    staging += stagedBytes(bLength);
  }
  const outStaged = outAddress < 0;
  if (outStaged) {
    outAddress = staging;
    if (accumulate) kernelFloat32(outAddress, outLength).set(out.subarray(0, outLength));
  }
  const flags = (transA ? FLAG_TRANS_A : 0) | (transB ? FLAG_TRANS_B : 0) | (accumulate ? FLAG_ACCUMULATE : 0);
  gemm(outAddress, aAddress, bAddress, M, K, N, flags, scratch);
  if (outStaged) out.set(kernelFloat32(outAddress, outLength));
}

function checkDimension(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`matmul ${name} must be a non-negative integer, got ${value}`);
  }
}

function checkLength(name: string, array: Float32Array, needed: number, shape: string): void {
  if (array.length < needed) {
    throw new RangeError(`matmul ${name} holds ${array.length} elements but its shape ${shape} needs ${needed}`);
  }
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

function stagedBytes(length: number): number {
  return Math.ceil((length * 4) / STAGING_ALIGNMENT) * STAGING_ALIGNMENT;
}
