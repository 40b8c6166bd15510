/** The first unit: token ids [B,T] -> wte[token] + wpe[position], [B,T,C]. */
import { prefix, Workspace, type Layout } from '../buffers.js';
import { Embedding } from '../layers/embedding.js';
import { GPT2_INIT_STD } from '../init.js';
import type { GPTConfig, Parameter } from '../parameter.js';
import { SlotPool } from '../slot-pool.js';
import {
  requireActivationGradient,
  requireLength,
  requireSlot,
  UnitBase,
  type MicroBatch,
  type StashBytes,
  type UnitLayouts,
} from './unit.js';

/** wte [V, C] and wpe [blockSize, C]; F -> W the token ids, I -> W the output gradient; out [B, T, C]. */
export function embeddingLayouts(config: GPTConfig) {
  const { vocabSize: V, blockSize, embd: C } = config;
  return {
    parameters: [
      { name: 'wte.weight', shape: [V, C], init: { normalStd: GPT2_INIT_STD } },
      { name: 'wpe.weight', shape: [blockSize, C], init: { normalStd: GPT2_INIT_STD } },
    ],
    stashes: {
      tokens: { lifetime: 'F→W', layout: (B: number, T: number) => ({ tokens: { int32: B * T } }) },
      gradient: { lifetime: 'I→W', layout: (B: number, T: number) => ({ dOut: B * T * C }) },
    },
    workspace: (B: number, T: number) => ({ out: B * T * C }),
  } as const satisfies UnitLayouts;
}

export class EmbeddingUnit extends UnitBase {
  readonly kind = 'embedding';
  readonly parameters: readonly Parameter[];
  readonly embedding: Embedding;
  private readonly channels: number;
  /** F -> W: the token ids the scatter-add needs. */
  private readonly activations: SlotPool<{ tokens: { int32: number } }>;
  /** I -> W: the output gradient (the embedding's I step has nothing to compute). */
  private readonly gradients: SlotPool<{ dOut: number }>;
  private readonly workspace: Workspace<{ out: number }>;
  protected readonly pools: readonly SlotPool<Layout>[];

  constructor(config: GPTConfig, tokenTable: Parameter, positionTable: Parameter) {
    super('embedding');
    const C = config.embd;
    this.channels = C;
    this.embedding = new Embedding(tokenTable, positionTable, config.vocabSize, config.blockSize, C);
    this.parameters = [tokenTable, positionTable];
    const maxT = config.blockSize;
    const layouts = embeddingLayouts(config);
    this.activations = new SlotPool(this.name, 'token ids', layouts.stashes.tokens.layout, maxT);
    this.gradients = new SlotPool(this.name, 'an output gradient', layouts.stashes.gradient.layout, maxT);
    this.workspace = new Workspace(layouts.workspace, maxT);
    this.pools = [this.activations, this.gradients];
  }

  forward(slot: number | null, batch: MicroBatch): Float32Array {
    const { B, T, tokens } = batch;
    requireLength(tokens, B * T, this.name, 'tokens [B,T]');
    const { out } = this.workspace.get(B, T);
    this.embedding.forward(out, tokens!, B, T);
    if (slot !== null) {
      requireSlot(slot, this.name);
      this.activations.acquire(slot, B, T).buffers.tokens.set(tokens!);
    }
    return prefix(out, B * T * this.channels);
  }

  backwardInput(slot: number, gradOutput: Float32Array | number): null {
    const dOut = requireActivationGradient(gradOutput, this.name);
    const { B, T } = this.activations.get(slot);
    requireLength(dOut, B * T * this.channels, this.name, 'output gradient [B,T,C]');
    this.gradients.acquire(slot, B, T).buffers.dOut.set(dOut);
    return null;
  }

  backwardWeight(slot: number): void {
    const { B, T, buffers: stash } = this.activations.get(slot);
    const { dOut } = this.gradients.get(slot).buffers;
    this.embedding.backwardWeight(dOut, stash.tokens, B, T);
    this.activations.release(slot);
    this.gradients.release(slot);
  }

  stashBytes(B: number, T: number): StashBytes {
    const tokens = this.activations.bytesPerSlot(B, T);
    return { forward: tokens, weight: tokens + this.gradients.bytesPerSlot(B, T) };
  }
}
