/**
 * A contiguous run of units driven as one: what a pipeline stage (or the whole model on one worker)
 * executes for F, I, W and B. With recompute on, a slot keeps only the segment's input between F and
 * its backward; the forward runs again, stashing, right before the backward (activation checkpointing).
 */
import { validateConfig } from './config.js';
import type { GPTConfig, Parameter } from './parameter.js';
import { SlotPool } from './slot-pool.js';
import { buildUnits } from './units/build.js';
import type { HeadUnit } from './units/head-unit.js';
import { requireSlot, type MicroBatch, type StashBytes, type Unit } from './units/unit.js';

/** What a recomputing segment keeps per slot from F to its backward (I or B): its input and the targets its head will need. */
export function segmentInputLayout(B: number, T: number, C: number, takesTokens: boolean, computesLoss: boolean) {
  const N = B * T;
  return {
    activation: takesTokens ? 0 : N * C, // [B, T, C]
    tokens: { int32: takesTokens ? N : 0 }, // [B, T]
    targets: { int32: computesLoss ? N : 0 }, // [B, T]
  };
}

export class ModelSegment {
  readonly parameters: readonly Parameter[];
  /** The first unit is the embedding: forward reads batch.tokens, and the backward returns null. */
  readonly takesTokens: boolean;
  /** The last unit is the head: forward reads batch.targets and returns the loss; backward starts from a loss scale. */
  readonly computesLoss: boolean;
  private recomputing = false;
  private readonly channels: number;
  private readonly inputs: SlotPool<ReturnType<typeof segmentInputLayout>>;

  constructor(
    config: GPTConfig,
    readonly units: readonly Unit[],
  ) {
    validateConfig(config);
    this.channels = config.embd;
    if (units.length === 0) throw new Error('a model segment needs at least one unit');
    units.forEach((unit, u) => {
      const misplaced = (unit.kind === 'embedding' && u > 0) || (unit.kind === 'head' && u < units.length - 1);
      if (misplaced) throw new Error(`${unit.name} cannot sit at position ${u} of a ${units.length}-unit segment`);
    });
    this.parameters = units.flatMap((unit) => unit.parameters);
    this.takesTokens = units[0]!.kind === 'embedding';
    this.computesLoss = units[units.length - 1]!.kind === 'head';
    const name = `${units[0]!.name}..${units[units.length - 1]!.name}`;
    const inputLayout = (B: number, T: number) =>
      segmentInputLayout(B, T, config.embd, this.takesTokens, this.computesLoss);
    this.inputs = new SlotPool(name, 'a recomputation input', inputLayout, config.blockSize);
  }

  get recompute(): boolean {
    return this.recomputing;
  }

  /** Switch activation checkpointing; only while no micro-batch is in flight. */
  set recompute(on: boolean) {
    if (this.liveStashBytes() > 0) throw new Error('cannot switch recomputation while micro-batches are in flight');
    this.recomputing = on;
  }

  /**
   * F for one micro-batch: input is [B,T,C] unless the segment starts with the embedding (then it reads
   * batch.tokens). Returns the output activation [B,T,C] (valid until the next call on this segment) or,
   * when the segment ends with the head, the mean loss. slot null keeps no stash.
   */
  forward(slot: number | null, batch: MicroBatch, input: Float32Array | null = null): Float32Array | number {
    if (slot === null || !this.recomputing) return this.chainForward(slot, batch, input);
    requireSlot(slot, 'segment');
    const result = this.chainForward(null, batch, input); // also checks the inputs' sizes
    const kept = this.inputs.acquire(slot, batch.B, batch.T).buffers;
    if (this.takesTokens) kept.tokens.set(batch.tokens!);
    else kept.activation.set(input!);
    if (this.computesLoss) kept.targets.set(batch.targets!);
    return result;
  }

  /** I: gradient of the segment input [B,T,C] (null when it starts with the embedding); keeps what W needs. */
  backwardInput(slot: number, gradOutput: Float32Array | number): Float32Array | null {
    this.restore(slot);
    let gradient: Float32Array | number | null = gradOutput;
    for (let u = this.units.length - 1; u >= 0; u--) gradient = this.units[u]!.backwardInput(slot, gradient!);
    return gradient as Float32Array | null;
  }

  /** W: accumulates every unit's weight gradients for the slot and frees it. */
  backwardWeight(slot: number): void {
    for (let u = this.units.length - 1; u >= 0; u--) this.units[u]!.backwardWeight(slot);
  }

  /** B: I and W unit by unit (bitwise the same gradients as I for all units, then W). */
  backward(slot: number, gradOutput: Float32Array | number): Float32Array | null {
    this.restore(slot);
    let gradient: Float32Array | number | null = gradOutput;
    for (let u = this.units.length - 1; u >= 0; u--) gradient = this.units[u]!.backward(slot, gradient!);
    return gradient as Float32Array | null;
  }

  /** Next-token probabilities [B,T,V] (segment must end with the head); keeps no stash. */
  probabilities(batch: MicroBatch, input: Float32Array | null = null): Float32Array {
    if (!this.computesLoss) throw new Error('probabilities need a segment that ends with the head');
    let x = input;
    for (let u = 0; u < this.units.length - 1; u++) x = this.units[u]!.forward(null, batch, x) as Float32Array;
    return (this.units[this.units.length - 1] as HeadUnit).probabilities(batch, x!);
  }

  /** Drops a slot's stash without a backward (e.g. after a validation forward). */
  release(slot: number): void {
    for (const unit of this.units) unit.release(slot);
    if (this.inputs.has(slot)) this.inputs.release(slot);
  }

  holds(slot: number): boolean {
    return this.inputs.has(slot) || this.units.some((unit) => unit.holds(slot));
  }

  /** Bytes one in-flight micro-batch [B, T] holds, with or without recomputation. */
  stashBytesPerSlot(B: number, T: number, recompute: boolean = this.recomputing): StashBytes {
    let forward = 0;
    let weight = 0;
    for (const unit of this.units) {
      const bytes = unit.stashBytes(B, T);
      forward += bytes.forward;
      weight += bytes.weight;
    }
    return { forward: recompute ? this.inputs.bytesPerSlot(B, T) : forward, weight };
  }

  /** Bytes held now by every in-flight slot of every unit (sample after each action for the peak). */
  liveStashBytes(): number {
    let total = this.inputs.liveBytes();
    for (const unit of this.units) total += unit.liveStashBytes();
    return total;
  }

  private chainForward(slot: number | null, batch: MicroBatch, input: Float32Array | null): Float32Array | number {
    let x: Float32Array | number | null = input;
    for (const unit of this.units) x = unit.forward(slot, batch, x as Float32Array | null);
    return x!;
  }

  /** Under recomputation, reruns the forward from the kept input, stashing, before the slot's backward. */
  private restore(slot: number): void {
    if (!this.recomputing) return;
    const { B, T, buffers: kept } = this.inputs.get(slot);
    const N = B * T;
    const batch: MicroBatch = {
      B,
      T,
      tokens: kept.tokens.subarray(0, this.takesTokens ? N : 0),
      targets: kept.targets.subarray(0, this.computesLoss ? N : 0),
    };
    this.chainForward(slot, batch, this.takesTokens ? null : kept.activation.subarray(0, N * this.channels));
    this.inputs.release(slot);
  }
}

/** The units [first, last) of a model, as one segment (the whole model by default). */
export function buildSegment(config: GPTConfig, seed: number, range?: readonly [number, number]): ModelSegment {
  return new ModelSegment(config, buildUnits(config, seed, range));
}
