/**
 * Per-micro-batch stashes. A unit keeps one record per in-flight slot (a pipeline stage holds several
 * micro-batches at once); records come from a free list, so buffers are allocated once and reused
 * across steps, and the memory held is exactly the records in flight plus the free ones.
 */
import { AllocationShape, allocateBuffers, buffersFit, layoutBytes, type Buffers, type Layout } from './buffers.js';

export interface SlotRecord<L extends Layout> {
  /** The micro-batch shape this record currently holds. */
  B: number;
  T: number;
  readonly buffers: Buffers<L>;
  /** Bytes allocated for this record (its capacity, not just the current shape). */
  readonly bytes: number;
}

/** Slot key for a forward that keeps nothing (inference, or the first pass under recomputation). */
export const TRANSIENT_SLOT = -1;

export class SlotPool<L extends Layout> {
  private readonly inFlight = new Map<number, SlotRecord<L>>();
  private readonly free: SlotRecord<L>[] = [];
  private readonly shape: AllocationShape;

  /** owner and what name the pool in error messages, e.g. 'h.2' and 'activations'; maxT is the block size. */
  constructor(
    private readonly owner: string,
    private readonly what: string,
    private readonly layout: (B: number, T: number) => L,
    maxT: number,
  ) {
    this.shape = new AllocationShape(maxT);
  }

  acquire(slot: number, B: number, T: number): SlotRecord<L> {
    if (this.inFlight.has(slot)) throw new Error(`${this.owner}: slot ${slot} already holds ${this.what}`);
    const layout = this.layout(B, T);
    const index = this.free.findIndex((record) => buffersFit(record.buffers, layout));
    let record: SlotRecord<L>;
    if (index >= 0) {
      record = this.free.splice(index, 1)[0]!;
    } else {
      // A larger micro-batch than before: drop one record that no longer fits rather than keep both.
      this.free.pop();
      const allocated = this.shape.grow(B, T);
      const allocatedLayout = this.layout(allocated.B, allocated.T);
      record = { B, T, buffers: allocateBuffers(allocatedLayout), bytes: layoutBytes(allocatedLayout) };
    }
    record.B = B;
    record.T = T;
    this.inFlight.set(slot, record);
    return record;
  }

  get(slot: number): SlotRecord<L> {
    const record = this.inFlight.get(slot);
    if (record === undefined) throw new Error(`${this.owner}: slot ${slot} holds no ${this.what}`);
    return record;
  }

  has(slot: number): boolean {
    return this.inFlight.has(slot);
  }

  release(slot: number): void {
    this.free.push(this.get(slot));
    this.inFlight.delete(slot);
  }

  /** Bytes one slot holds for a micro-batch [B, T]. */
  bytesPerSlot(B: number, T: number): number {
    return layoutBytes(this.layout(B, T));
  }

  /** Bytes held by the records now in flight. */
  liveBytes(): number {
    let total = 0;
    for (const record of this.inFlight.values()) total += record.bytes;
    return total;
  }
}
