/**
 * Kernel memory: one shared WebAssembly.Memory per thread that model state lives in, so the WebAssembly
 * kernels read parameters, gradients and activations in place.
 *
 * The memory is shared (backed by a SharedArrayBuffer) because growing a shared memory never detaches
 * the buffers handed out before: a Float32Array from allocFloat32 stays valid for the life of the thread,
 * however much is allocated after it. (Growing an ordinary memory would detach every existing view.)
 * Each thread (main or worker) that imports this module gets its own memory and its own allocator, made on
 * the first allocation. Both kernel backends read these arrays in place: the WebAssembly kernels by address
 * in this memory, the native ones through the arrays' data pointers.
 */

const PAGE_BYTES = 65536;
// 4 GiB, everything a 32-bit memory can address; the same figure is compiled into build/*.wasm
const MAXIMUM_PAGES = 65536;
// allocations start on cache-line boundaries so SIMD loads never straddle lines needlessly
const ALIGNMENT = 64;
// kernels' own static data lives below this address; the allocator hands out memory above it
const RESERVED_BYTES = PAGE_BYTES;
// grow by at least 16 MiB at a time: each growth mints a new SharedArrayBuffer object to track
const MINIMUM_GROWTH_PAGES = 256;

/** Bytes allocFloat32 can hand out on one thread, for counting what a run needs before it allocates. */
export const KERNEL_MEMORY_BYTES = MAXIMUM_PAGES * PAGE_BYTES - RESERVED_BYTES;
/** Every allocation starts on a multiple of this many bytes. */
export const KERNEL_ALIGNMENT = ALIGNMENT;

// the slice of the WebAssembly JS API used here (the project's ES2022 lib carries no WebAssembly types)
interface SharedMemory {
  readonly buffer: SharedArrayBuffer;
  grow(deltaPages: number): number;
}
/** A compiled WebAssembly.Module (the project's ES2022 lib carries no WebAssembly types). */
export type WasmModule = object;
interface WebAssemblyApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => SharedMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: { env: { memory: SharedMemory } }) => { exports: KernelExports };
}
/** A kernel module's exports: functions over byte addresses in kernel memory. */
export type KernelExports = Readonly<Record<string, (...args: number[]) => number>>;
export const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

let memory: SharedMemory | undefined;

/** This thread's kernel memory, made on first use. */
export function kernelMemory(): SharedMemory {
  memory ??= new webAssembly.Memory({ initial: 1, maximum: MAXIMUM_PAGES, shared: true });
  return memory;
}

// every buffer object that views into kernel memory were built on (one per growth of the memory)
const kernelBuffers = new WeakSet<ArrayBufferLike>();
// first byte never handed out; everything at or above it is still zero
let top = RESERVED_BYTES;
let scratch = { address: 0, byteLength: 0 };

/** Instantiates a compiled kernel module against this thread's kernel memory. */
export function instantiateKernel(module: WasmModule, name: string): KernelExports {
  const instance = new webAssembly.Instance(module, { env: { memory: kernelMemory() } });
  const heapBase = instance.exports['heapBase']!();
  if (heapBase > RESERVED_BYTES) {
    throw new Error(`kernel ${name} has ${heapBase} bytes of static data, more than the ${RESERVED_BYTES} reserved for it`);
  }
  return instance.exports;
}

/**
 * A zero-filled Float32Array of `length` elements inside kernel memory, for model state.
 * It is never freed and never invalidated; matmul reads and writes it in place.
 */
export function allocFloat32(length: number): Float32Array {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`allocFloat32 length must be a non-negative integer, got ${length}`);
  }
  return kernelFloat32(reserve(length * 4), length);
}

/** Bytes of kernel memory this thread has handed out so far (never given back): what is left is KERNEL_MEMORY_BYTES minus it. */
export function kernelBytesInUse(): number {
  return top - RESERVED_BYTES;
}

/** The byte address of `view` in kernel memory, or -1 when it lives in some other buffer. */
export function kernelAddress(view: Float32Array): number {
  if (kernelBuffers.has(view.buffer)) return view.byteOffset;
  if (memory !== undefined && view.buffer === memory.buffer) {
    kernelBuffers.add(view.buffer);
    return view.byteOffset;
  }
  return -1;
}

/** A Float32Array over `length` elements of kernel memory starting at byte `address`. */
export function kernelFloat32(address: number, length: number): Float32Array {
  const buffer = kernelMemory().buffer;
  kernelBuffers.add(buffer);
  return new Float32Array(buffer, address, length);
}

/**
 * The address of a scratch region of at least `byteLength` bytes, shared by every kernel call on this
 * thread: its contents are only valid until the next call. It is replaced (doubling) when too small.
 */
export function scratchAddress(byteLength: number): number {
  if (byteLength <= scratch.byteLength) return scratch.address;
  // the region on top of the heap can grow in place instead of being abandoned
  if (scratch.byteLength > 0 && alignUp(scratch.address + scratch.byteLength) === top) top = scratch.address;
  const size = Math.max(byteLength, 2 * scratch.byteLength);
  scratch = { address: reserve(size), byteLength: size };
  return scratch.address;
}

function reserve(byteLength: number): number {
  const address = top;
  const end = address + byteLength;
  if (end > MAXIMUM_PAGES * PAGE_BYTES) {
    throw new RangeError(`kernel memory is full: ${byteLength} more bytes would pass the 4 GiB a WebAssembly memory can address`);
  }
  const pages = kernelMemory().buffer.byteLength / PAGE_BYTES;
  if (end > pages * PAGE_BYTES) {
    const needed = Math.ceil(end / PAGE_BYTES) - pages;
    kernelMemory().grow(Math.min(Math.max(needed, MINIMUM_GROWTH_PAGES), MAXIMUM_PAGES - pages));
  }
  top = alignUp(end);
  return address;
}

function alignUp(address: number): number {
  return Math.ceil(address / ALIGNMENT) * ALIGNMENT;
}
