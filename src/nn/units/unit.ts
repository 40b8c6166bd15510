/**
 * A pipeline unit: the embedding, one transformer block, or the head. A stage owns a contiguous range of
 * units. Every unit works on one micro-batch [B, T] per call and keeps a separate stash per slot, so a
 * stage can hold several micro-batches in flight; the backward is split into I (to the input) and W
 * (to the weights), and B is exactly I followed by W.
 */
import type { Layout } from '../buffers.js';
import type { Init } from '../init.js';
import type { Parameter } from '../parameter.js';
import type { SlotPool } from '../slot-pool.js';

export type UnitKind = 'embedding' | 'block' | 'head';

/** What a unit reads beside the activation: the micro-batch shape and, where needed, its token ids. */
export interface MicroBatch {
  readonly B: number;
  readonly T: number;
  /** [B, T] input token ids; the embedding reads them. */
  readonly tokens?: Int32Array;
  /** [B, T] next-token targets; the head reads them. */
  readonly targets?: Int32Array;
}

/**
 * When a stash record is taken and given back, which decides how many records a stage holds at once:
 * 'F→I' from the forward to the backward to the input (I, or B), 'F→W' from the forward to the backward to
 * the weights (W, or B), 'I→W' from I to W (within B when the backward is whole).
 */
export type StashLifetime = 'F→I' | 'F→W' | 'I→W';

/** A stash pool written down as data: what it keeps for a micro-batch [B, T], and for how long. */
export interface StashLayout {
  readonly lifetime: StashLifetime;
  readonly layout: (B: number, T: number) => Layout;
}

/** A parameter as the unit creates it (its gradient has the same shape). */
export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Init;
}

/**
 * Everything a unit allocates, written once: the unit is built from it, and nn/memory.ts counts the bytes of
 * a run from it before anything is allocated.
 */
export interface UnitLayouts {
  readonly parameters: readonly ParameterSpec[];
  readonly stashes: Readonly<Record<string, StashLayout>>;
  /** Outputs and temporaries shared by all slots, grown to the largest micro-batch seen. */
  readonly workspace: (B: number, T: number) => Layout;
}

/** Bytes one in-flight slot holds. */
export interface StashBytes {
  /** From F until its I (or B): everything the backward-to-input reads. */
  readonly forward: number;
  /** From I until its W: what the weight gradients read. */
  readonly weight: number;
}

export interface Unit {
  readonly kind: UnitKind;
  /** 'embedding', 'h.N' or 'head'. */
  readonly name: string;
  /** Hugging Face GPT-2 names and layouts. */
  readonly parameters: readonly Parameter[];
  /**
   * Forward of one micro-batch. slot null keeps no stash (inference, or a pass that will be recomputed).
   * input is the activation [B,T,C] (null for the embedding, which reads batch.tokens). Returns the output
   * activation [B,T,C], owned by the unit and valid until its next forward (a recomputing segment reruns
   * forwards inside I), or for the head the mean loss.
   */
  forward(slot: number | null, batch: MicroBatch, input: Float32Array | null): Float32Array | number;
  /**
   * I: the gradient of the input [B,T,C] (owned by the unit, valid until its next backwardInput) from
   * the gradient of the output [B,T,C], or for the head from the loss scale (dLoss, e.g. 1/microbatches).
   * The embedding has no input gradient and returns null. Keeps what W reads until backwardWeight.
   */
  backwardInput(slot: number, gradOutput: Float32Array | number): Float32Array | null;
  /** W: accumulates the parameters' gradients for the slot and frees the slot. */
  backwardWeight(slot: number): void;
  /** B = I then W, bitwise the same as calling them one after the other. */
  backward(slot: number, gradOutput: Float32Array | number): Float32Array | null;
  /** Frees a slot whose backward will not run (e.g. after an evaluation forward). */
  release(slot: number): void;
  /** True while the slot holds a stash (between F and W). */
  holds(slot: number): boolean;
  /** Bytes one slot holds for a micro-batch [B, T] (the unit stashes everything it needs). */
  stashBytes(B: number, T: number): StashBytes;
  /** Bytes held now by all in-flight slots. */
  liveStashBytes(): number;
}

/** Checks an array handed to a unit has the micro-batch's size; a mismatch is a caller's bug. */
export function requireLength(array: ArrayLike<number> | undefined, length: number, owner: string, what: string): void {
  if (array === undefined) throw new Error(`${owner}: ${what} is missing`);
  if (array.length !== length) throw new Error(`${owner}: ${what} has ${array.length} elements, expected ${length}`);
}

/** Slots are non-negative integers the caller chooses (the micro-batch index, say). */
export function requireSlot(slot: number, owner: string): void {
  if (!Number.isInteger(slot) || slot < 0) throw new Error(`${owner}: slot must be a non-negative integer, got ${slot}`);
}

/** A gradient that must be an activation gradient (every unit but the head's start). */
export function requireActivationGradient(gradOutput: Float32Array | number, owner: string): Float32Array {
  if (typeof gradOutput === 'number') throw new Error(`${owner}: expected the output gradient [B,T,C], got a loss scale`);
  return gradOutput;
}

/** The parts every unit shares: B as I then W, and slot bookkeeping over the unit's pools. */
export abstract class UnitBase implements Unit {
  abstract readonly kind: UnitKind;
  abstract readonly parameters: readonly Parameter[];
  /** Every pool that can hold a slot's stash. */
  protected abstract readonly pools: readonly SlotPool<Layout>[];

  constructor(readonly name: string) {}

  abstract forward(slot: number | null, batch: MicroBatch, input: Float32Array | null): Float32Array | number;
  abstract backwardInput(slot: number, gradOutput: Float32Array | number): Float32Array | null;
  abstract backwardWeight(slot: number): void;
  abstract stashBytes(B: number, T: number): StashBytes;

  backward(slot: number, gradOutput: Float32Array | number): Float32Array | null {
    const gradInput = this.backwardInput(slot, gradOutput);
    this.backwardWeight(slot);
    return gradInput;
  }

  release(slot: number): void {
    for (const pool of this.pools) if (pool.has(slot)) pool.release(slot);
  }

  holds(slot: number): boolean {
    return this.pools.some((pool) => pool.has(slot));
  }

  liveStashBytes(): number {
    let total = 0;
    for (const pool of this.pools) total += pool.liveBytes();
    return total;
  }
}
