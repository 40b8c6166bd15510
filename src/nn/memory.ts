/**
 * The bytes a model segment will allocate, counted before anything is allocated, from the same layouts the
 * units allocate from (UnitLayouts in units/*): parameters and gradients, the stash records a schedule keeps
 * in flight, the work buffers. Float32 buffers live in kernel memory (at most KERNEL_MEMORY_BYTES a thread);
 * Int32 buffers (token ids) and the optimizer's moments are ordinary memory.
 */
import { AllocationShape, type BufferSpec, type Layout } from './buffers.js';
import { unitCount } from './config.js';
import type { GPTConfig } from './parameter.js';
import { segmentInputLayout } from './segment.js';
import { blockLayouts } from './units/block-unit.js';
import { embeddingLayouts } from './units/embedding-unit.js';
import { headLayouts } from './units/head-unit.js';
import type { StashLifetime, UnitLayouts } from './units/unit.js';
import { KERNEL_ALIGNMENT } from '../tensor/index.js';

/** Bytes by what holds them; `kernel` must fit one thread's kernel memory, everything counts against RAM. */
export interface Bytes {
  /** Parameters and their gradients (kernel memory). */
  readonly parameters: number;
  /** Stash records of micro-batches in flight (kernel memory, token ids aside). */
  readonly activations: number;
  /** Work buffers (kernel memory); a thread on the WebAssembly kernels also takes the GEMM's scratch once. */
  readonly work: number;
  /** Ordinary memory: optimizer moments, token ids, messages, copies for checkpoints. */
  readonly other: number;
}

export const noBytes: Bytes = { parameters: 0, activations: 0, work: 0, other: 0 };

export function addBytes(a: Bytes, b: Bytes): Bytes {
  return { parameters: a.parameters + b.parameters, activations: a.activations + b.activations, work: a.work + b.work, other: a.other + b.other };
}

/** What must fit one thread's kernel memory. */
export const kernelBytes = (bytes: Bytes): number => bytes.parameters + bytes.activations + bytes.work;

/** [kernel, other] bytes of a layout: Float32 buffers in kernel memory (each aligned), Int32 ones outside. */
function layoutSplit(layout: Layout): [number, number] {
  let kernel = 0;
  let other = 0;
  for (const spec of Object.values(layout) as BufferSpec[]) {
    if (typeof spec === 'number') kernel += Math.ceil((4 * spec) / KERNEL_ALIGNMENT) * KERNEL_ALIGNMENT;
    else other += 4 * spec.int32;
  }
  return [kernel, other];
}

/** The layouts of unit `index` of [embedding, h.0 … h.L-1, head]. */
export function unitLayouts(config: GPTConfig, index: number): UnitLayouts {
  if (index === 0) return embeddingLayouts(config);
  if (index === unitCount(config) - 1) return headLayouts(config);
  return blockLayouts(config, index - 1);
}

/** Float32 elements of a unit's parameters. */
export function parameterElements(config: GPTConfig, index: number): number {
  let elements = 0;
  for (const { shape } of unitLayouts(config, index).parameters) elements += shape.reduce((product, size) => product * size, 1);
  return elements;
}

/** Parameters and gradients of units [first, last) in kernel memory; the optimizer's two moments outside it. */
export function parameterBytes(config: GPTConfig, range: readonly [number, number], withOptimizer: boolean): Bytes {
  let parameters = 0;
  let moments = 0;
  for (let index = range[0]; index < range[1]; index++) {
    for (const { shape } of unitLayouts(config, index).parameters) {
      const bytes = 4 * shape.reduce((product, size) => product * size, 1);
      parameters += 2 * Math.ceil(bytes / KERNEL_ALIGNMENT) * KERNEL_ALIGNMENT; // data and gradient
      moments += 2 * bytes;
    }
  }
  return { ...noBytes, parameters, other: withOptimizer ? moments : 0 };
}

/** How many records a stage's stashes hold at once, by lifetime, and (under recomputation) its kept inputs. */
export type StashRecords = Readonly<Record<StashLifetime | 'kept inputs', number>>;

/** The actions of a rank as the schedule lists them; only their kind and stage matter here. */
export interface StashAction {
  readonly kind: 'F' | 'B' | 'I' | 'W';
  readonly stage: number;
}

/**
 * Records the stage's stashes need when its rank runs `order` (every record ever taken stays allocated for
 * reuse, so the count is the most held at once). With recomputation the forward keeps only the segment input;
 * the units' forward stashes are taken again just before the backward, and once more while a forward runs.
 */
export function stashRecords(order: readonly StashAction[], stage: number, recompute: boolean): StashRecords {
  let forward = 0; // F done, I not yet
  let weight = 0; // F done, W not yet
  let gradient = 0; // I done, W not yet
  const peak = { forward: 0, weight: 0, gradient: 0, recomputedWeight: 0 };
  for (const { kind, stage: owner } of order) {
    if (owner !== stage) continue;
    if (kind === 'F') {
      forward++;
      weight++;
      peak.recomputedWeight = Math.max(peak.recomputedWeight, gradient + 1); // the forward's own pass
    } else if (kind === 'I') {
      forward--;
      gradient++;
    } else if (kind === 'W') {
      weight--;
      gradient--;
    } else {
      peak.gradient = Math.max(peak.gradient, gradient + 1); // B takes and gives back an I -> W record
      peak.recomputedWeight = Math.max(peak.recomputedWeight, gradient + 1);
      forward--;
      weight--;
    }
    peak.forward = Math.max(peak.forward, forward);
    peak.weight = Math.max(peak.weight, weight);
    peak.gradient = Math.max(peak.gradient, gradient);
    peak.recomputedWeight = Math.max(peak.recomputedWeight, gradient);
  }
  if (!recompute) return { 'F→I': peak.forward, 'F→W': peak.weight, 'I→W': peak.gradient, 'kept inputs': 0 };
  return { 'F→I': Math.min(1, peak.forward), 'F→W': peak.recomputedWeight, 'I→W': peak.gradient, 'kept inputs': peak.forward };
}

/** Stash records and work buffers of units [first, last) for micro-batches [B, T] (one shape: training). */
export function trainingBufferBytes(config: GPTConfig, range: readonly [number, number], B: number, T: number, records: StashRecords): Bytes {
  let activations = 0;
  let work = 0;
  let other = 0;
  const add = (layout: Layout, count: number, into: 'activations' | 'work'): void => {
    const [kernel, outside] = layoutSplit(layout);
    if (into === 'activations') activations += count * kernel;
    else work += count * kernel;
    other += count * outside;
  };
  for (let index = range[0]; index < range[1]; index++) {
    const layouts = unitLayouts(config, index);
    for (const { lifetime, layout } of Object.values(layouts.stashes)) add(layout(B, T), records[lifetime], 'activations');
    add(layouts.workspace(B, T), 1, 'work');
  }
  const takesTokens = range[0] === 0;
  const computesLoss = range[1] === unitCount(config);
  add(segmentInputLayout(B, T, config.embd, takesTokens, computesLoss), records['kept inputs'], 'activations');
  return { parameters: 0, activations, work, other };
}

/**
 * Buffers of forwards that keep nothing (evaluation, sampling), for the micro-batch shapes in the order they
 * come: a shape that does not fit what was allocated allocates anew, grown as the units grow it (the old
 * buffers are never given back), so a sequence that lengthens token by token costs about twice its last shape.
 */
export function inferenceBufferBytes(config: GPTConfig, shapes: readonly (readonly [number, number])[]): Bytes {
  let activations = 0;
  let work = 0;
  let other = 0;
  const grow = (layoutAt: (B: number, T: number) => Layout, into: 'activations' | 'work'): void => {
    const shape = new AllocationShape(config.blockSize);
    let allocated: Layout | undefined;
    for (const [B, T] of shapes) {
      const needed = layoutAt(B, T);
      if (allocated !== undefined && fits(allocated, needed)) continue;
      const { B: grownB, T: grownT } = shape.grow(B, T);
      allocated = layoutAt(grownB, grownT);
      const [kernel, outside] = layoutSplit(allocated);
      if (into === 'activations') activations += kernel;
      else work += kernel;
      other += outside;
    }
  };
  for (let index = 0; index < unitCount(config); index++) {
    const layouts = unitLayouts(config, index);
    for (const { lifetime, layout } of Object.values(layouts.stashes)) if (lifetime !== 'I→W') grow(layout, 'activations');
    grow(layouts.workspace, 'work');
  }
  return { parameters: 0, activations, work, other };
}

function fits(allocated: Layout, needed: Layout): boolean {
  const elements = (spec: BufferSpec | undefined): number => (spec === undefined ? 0 : typeof spec === 'number' ? spec : spec.int32);
  return Object.entries(needed).every(([name, spec]) => elements(allocated[name]) >= elements(spec));
}
