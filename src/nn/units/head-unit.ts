/**
 * The last unit: ln_f, the LM head and the cross-entropy loss. [B,T,C] + targets [B,T] -> mean loss.
 * Tied (GPT-2's default): the head holds its own copy of `wte.weight` and computes logits = x·wteᵀ;
 * the trainer sums both copies' gradients before the step (see tied.ts). Untied: `lm_head.weight` [V,C].
 */
import { UsageError } from '../../errors.js';
import { crossEntropyBackward, crossEntropyForward, softmaxForward } from '../../tensor/index.js';
import { prefix, Workspace, type Layout } from '../buffers.js';
import { LayerNorm } from '../layers/layer-norm.js';
import { Linear } from '../layers/linear.js';
import { GPT2_INIT_STD } from '../init.js';
import type { GPTConfig, Parameter } from '../parameter.js';
import { SlotPool, TRANSIENT_SLOT } from '../slot-pool.js';
import {
  requireLength,
  requireSlot,
  UnitBase,
  type MicroBatch,
  type StashBytes,
  type UnitLayouts,
} from './unit.js';

/** F -> W (the probabilities become the logit gradient at I, which W reads). */
function activationLayout(B: number, T: number, C: number, V: number) {
  const N = B * T;
  return {
    x: N * C, // [B, T, C] head input
    lnMean: N,
    lnRstd: N,
    lnOut: N * C, // [B, T, C] the LM head's input
    probs: N * V, // [B, T, V] softmax, then dLogits after I
    targets: { int32: N }, // [B, T]
  };
}

/**
 * ln_f and the LM head's [V, C] weight (tied: the head's own copy of wte.weight); F -> W its activations,
 * I -> W ln_f's output gradient; dX [B,T,C] handed back by I and probs [B,T,V] for inference.
 */
export function headLayouts(config: GPTConfig) {
  const { vocabSize: V, embd: C } = config;
  return {
    parameters: [
      { name: 'ln_f.weight', shape: [C], init: 'ones' },
      { name: 'ln_f.bias', shape: [C], init: 'zeros' },
      { name: config.tied ? 'wte.weight' : 'lm_head.weight', shape: [V, C], init: { normalStd: GPT2_INIT_STD } },
    ],
    stashes: {
      activations: { lifetime: 'F→W', layout: (B: number, T: number) => activationLayout(B, T, C, V) },
      gradient: { lifetime: 'I→W', layout: (B: number, T: number) => ({ dLnOut: B * T * C }) },
    },
    workspace: (B: number, T: number) => ({ dX: B * T * C, probs: B * T * V }),
  } as const satisfies UnitLayouts;
}

export class HeadUnit extends UnitBase {
  readonly kind = 'head';
  readonly parameters: readonly Parameter[];
  readonly lnFinal: LayerNorm;
  /** logits = x·Wᵀ with W = wte.weight (tied) or lm_head.weight, [V, C]. */
  readonly lmHead: Linear;
  private readonly C: number;
  private readonly V: number;
  private readonly activations: SlotPool<ReturnType<typeof activationLayout>>;
  /** I -> W: ln_f's output gradient. */
  private readonly gradients: SlotPool<{ dLnOut: number }>;
  private readonly workspace: Workspace<{ dX: number; probs: number }>;
  protected readonly pools: readonly SlotPool<Layout>[];

  constructor(config: GPTConfig, lnWeight: Parameter, lnBias: Parameter, outputWeight: Parameter) {
    super('head');
    const C = config.embd;
    const V = config.vocabSize;
    this.C = C;
    this.V = V;
    this.lnFinal = new LayerNorm(lnWeight, lnBias, C);
    this.lmHead = new Linear(outputWeight, null, C, V, 'out-in');
    this.parameters = [lnWeight, lnBias, outputWeight];
    const maxT = config.blockSize;
    const layouts = headLayouts(config);
    this.activations = new SlotPool(this.name, 'head activations', layouts.stashes.activations.layout, maxT);
    this.gradients = new SlotPool(this.name, 'an ln_f gradient', layouts.stashes.gradient.layout, maxT);
    this.workspace = new Workspace(layouts.workspace, maxT);
    this.pools = [this.activations, this.gradients];
  }

  /** Mean cross-entropy of batch.targets under the model; stashes for the backward unless slot is null. */
  forward(slot: number | null, batch: MicroBatch, input: Float32Array | null): number {
    const { B, T, targets } = batch;
    const N = B * T;
    requireLength(input ?? undefined, N * this.C, this.name, 'input [B,T,C]');
    requireLength(targets, N, this.name, 'targets [B,T]');
    for (let n = 0; n < N; n++) {
      const target = targets![n]!;
      if (!(target >= 0 && target < this.V)) {
        throw new UsageError(`target id ${target} at position ${n} is outside the vocabulary [0, ${this.V})`);
      }
    }
    if (slot !== null) requireSlot(slot, this.name);
    const key = slot ?? TRANSIENT_SLOT;
    const a = this.activations.acquire(key, B, T).buffers;
    a.x.set(input!);
    a.targets.set(targets!);
    this.lnFinal.forward(a.lnOut, { mean: a.lnMean, rstd: a.lnRstd }, a.x, N);
    this.lmHead.forward(a.probs, a.lnOut, N);
    const loss = crossEntropyForward(a.probs, a.probs, a.targets, N, this.V);
    if (slot === null) this.release(TRANSIENT_SLOT);
    return loss;
  }

  /** Next-token probabilities [B,T,V] for input [B,T,C], without targets or stash (sampling). */
  probabilities(batch: MicroBatch, input: Float32Array): Float32Array {
    const { B, T } = batch;
    const N = B * T;
    requireLength(input, N * this.C, this.name, 'input [B,T,C]');
    const a = this.activations.acquire(TRANSIENT_SLOT, B, T).buffers;
    const { probs } = this.workspace.get(B, T);
    this.lnFinal.forward(a.lnOut, { mean: a.lnMean, rstd: a.lnRstd }, input, N);
    this.lmHead.forward(probs, a.lnOut, N);
    softmaxForward(probs, probs, N, this.V, 1, false);
    this.release(TRANSIENT_SLOT);
    return prefix(probs, N * this.V);
  }

  /** gradOutput is the loss scale: dLoss for this micro-batch's mean loss (1/microbatches for a batch mean). */
  backwardInput(slot: number, gradOutput: Float32Array | number): Float32Array {
    if (typeof gradOutput !== 'number') throw new Error(`${this.name}: backward starts from a loss scale, got an array`);
    const { B, T, buffers: a } = this.activations.get(slot);
    const N = B * T;
    const g = this.gradients.acquire(slot, B, T).buffers;
    const { dX } = this.workspace.get(B, T);
    crossEntropyBackward(a.probs, a.probs, a.targets, N, this.V, gradOutput / N);
    this.lmHead.backwardInput(g.dLnOut, a.probs, N);
    dX.fill(0, 0, N * this.C);
    this.lnFinal.backwardInput(dX, g.dLnOut, a.x, { mean: a.lnMean, rstd: a.lnRstd }, N);
    return prefix(dX, N * this.C);
  }

  backwardWeight(slot: number): void {
    const { B, T, buffers: a } = this.activations.get(slot);
    const g = this.gradients.get(slot).buffers;
    const N = B * T;
    this.lmHead.backwardWeight(a.probs, a.lnOut, N);
    this.lnFinal.backwardWeight(g.dLnOut, a.x, { mean: a.lnMean, rstd: a.lnRstd }, N);
    this.activations.release(slot);
    this.gradients.release(slot);
  }

  stashBytes(B: number, T: number): StashBytes {
    const activations = this.activations.bytesPerSlot(B, T);
    return { forward: activations, weight: activations + this.gradients.bytesPerSlot(B, T) };
  }
}
