/**
 * Named groups of buffers described by a layout (name -> element count for a micro-batch [B, T]),
 * so what a unit stashes is written down once and both allocated and counted from that one place.
 */
import { allocFloat32 } from '../tensor/index.js';

/** A Float32 buffer of that many elements, or an Int32 one (token ids, targets). */
export type BufferSpec = number | { readonly int32: number };
export type Layout = Readonly<Record<string, BufferSpec>>;
export type Buffers<L extends Layout> = {
  readonly [K in keyof L]: L[K] extends number ? Float32Array : Int32Array;
};

function elements(spec: BufferSpec): number {
  return typeof spec === 'number' ? spec : spec.int32;
}

/** Bytes the layout occupies (both element types are 4 bytes). */
export function layoutBytes(layout: Layout): number {
  let total = 0;
  for (const spec of Object.values(layout)) total += 4 * elements(spec);
  return total;
}

/** Float32 buffers come from kernel memory so matmul reads them in place. */
export function allocateBuffers<L extends Layout>(layout: L): Buffers<L> {
  const buffers: Record<string, Float32Array | Int32Array> = {};
  for (const [name, spec] of Object.entries(layout)) {
    buffers[name] = typeof spec === 'number' ? allocFloat32(spec) : new Int32Array(spec.int32);
  }
  return buffers as Buffers<L>;
}

/** True when every buffer is at least as long as the layout asks (a smaller micro-batch reuses them). */
export function buffersFit<L extends Layout>(buffers: Buffers<L>, layout: L): boolean {
  for (const [name, spec] of Object.entries(layout)) {
    if ((buffers as Record<string, Float32Array | Int32Array>)[name]!.length < elements(spec)) return false;
  }
  return true;
}

/**
 * The micro-batch shape to allocate buffers for. Kernel memory is never given back, so when a larger [B, T]
 * arrives the new buffers grow geometrically (at least double the dimension that grew, T capped at the
 * block size): a sequence that lengthens one token at a time, as in sampling, allocates O(log T) times.
 */
export class AllocationShape {
  private B = 0;
  private T = 0;

  constructor(private readonly maxT: number) {}

  /** The shape to allocate now that [B, T] does not fit what was allocated. */
  grow(B: number, T: number): { B: number; T: number } {
    if (B > this.B) this.B = this.B === 0 ? B : Math.max(B, 2 * this.B);
    if (T > this.T) this.T = this.T === 0 ? T : Math.max(T, Math.min(2 * this.T, this.maxT));
    return { B: Math.max(B, this.B), T: Math.max(T, this.T) };
  }
}

/** Buffers shared by all slots of a unit (outputs, temporaries), grown to the largest micro-batch seen. */
export class Workspace<L extends Layout> {
  private buffers: Buffers<L> | null = null;
  private readonly shape: AllocationShape;

  /** maxT: the model's block size, the longest sequence worth allocating for. */
  constructor(
    private readonly layout: (B: number, T: number) => L,
    maxT: number,
  ) {
    this.shape = new AllocationShape(maxT);
  }

  get(B: number, T: number): Buffers<L> {
    if (this.buffers === null || !buffersFit(this.buffers, this.layout(B, T))) {
      const { B: allocatedB, T: allocatedT } = this.shape.grow(B, T);
      this.buffers = allocateBuffers(this.layout(allocatedB, allocatedT));
    }
    return this.buffers;
  }
}

/** The first n elements of buffer, without a new view when it is already that long. */
export function prefix(buffer: Float32Array, n: number): Float32Array {
  return buffer.length === n ? buffer : buffer.subarray(0, n);
}
