/**
 * One pre-LayerNorm GPT-2 block, [B,T,C] -> [B,T,C]:
 *   x2  = x  + attn.c_proj(attention(attn.c_attn(ln_1(x))))
 *   out = x2 + mlp.c_proj(gelu(mlp.c_fc(ln_2(x2))))
 * Its stash is split by lifetime: what only I reads is freed at I, what W reads lives until W.
 */
import { attentionBackward, attentionForward, attentionScratchLayout, geluBackward, geluForward, residualForward } from '../../tensor/index.js';
import { prefix, Workspace, type Layout } from '../buffers.js';
import { createParameter, GPT2_INIT_STD, type Init } from '../init.js';
import { LayerNorm } from '../layers/layer-norm.js';
import { Linear } from '../layers/linear.js';
import type { GPTConfig, Parameter } from '../parameter.js';
import { SlotPool, TRANSIENT_SLOT } from '../slot-pool.js';
import {
  requireActivationGradient,
  requireLength,
  requireSlot,
  UnitBase,
  type MicroBatch,
  type ParameterSpec,
  type StashBytes,
  type UnitLayouts,
} from './unit.js';

/** F -> I: read by the backward to the input only. */
function inputStashLayout(B: number, T: number, C: number, NH: number) {
  return {
    qkvHeads: 3 * B * T * C, // [3, B, NH, T, hs]
    att: B * NH * T * T, // [B, NH, T, T] softmax probabilities
    geluDerivative: B * T * 4 * C, // [B, T, 4C] gelu'(c_fc output)
  };
}

/** F -> W: the inputs of the weight-bearing layers (and what their I also reads). */
function weightStashLayout(B: number, T: number, C: number) {
  const N = B * T;
  return {
    x: N * C, // [B, T, C] block input
    ln1Mean: N,
    ln1Rstd: N,
    ln1Out: N * C, // [B, T, C]
    attnY: N * C, // [B, T, C] attention output, c_proj's input
    x2: N * C, // [B, T, C] after the attention residual
    ln2Mean: N,
    ln2Rstd: N,
    ln2Out: N * C, // [B, T, C]
    gelu: N * 4 * C, // [B, T, 4C] mlp.c_proj's input
  };
}

/** I -> W: the output gradients of the weight-bearing layers. */
function gradientStashLayout(B: number, T: number, C: number) {
  const N = B * T;
  return {
    dOut: N * C, // [B, T, C] mlp.c_proj output gradient
    dfc: N * 4 * C, // [B, T, 4C] mlp.c_fc output gradient
    dln2Out: N * C, // [B, T, C]
    dx2: N * C, // [B, T, C] attn.c_proj output gradient
    dqkv: N * 3 * C, // [B, T, 3C] attn.c_attn output gradient
    dln1Out: N * C, // [B, T, C]
  };
}

/** Shared by all slots: outputs handed back and temporaries that die within one call. */
function workspaceLayout(B: number, T: number, C: number, NH: number) {
  const N = B * T;
  return {
    qkv: N * 3 * C, // [B, T, 3C] c_attn output
    projection: N * C, // [B, T, C] a c_proj output before its residual
    out: N * C, // [B, T, C]
    dX: N * C, // [B, T, C]
    dAttnY: N * C, // [B, T, C]
    ...attentionScratchLayout(T, C / NH),
  };
}

/** Block `layer` (parameters h.N.*, Hugging Face's Conv1D layouts) and its stashes by lifetime. */
export function blockLayouts(config: GPTConfig, layer: number) {
  const C = config.embd;
  const NH = config.heads;
  const residualStd = GPT2_INIT_STD / Math.sqrt(2 * config.layers); // GPT-2's scaling of residual projections
  const spec = (suffix: string, shape: number[], init: Init): ParameterSpec => ({ name: `h.${layer}.${suffix}`, shape, init });
  return {
    parameters: [
      spec('ln_1.weight', [C], 'ones'),
      spec('ln_1.bias', [C], 'zeros'),
      spec('attn.c_attn.weight', [C, 3 * C], { normalStd: GPT2_INIT_STD }),
      spec('attn.c_attn.bias', [3 * C], 'zeros'),
      spec('attn.c_proj.weight', [C, C], { normalStd: residualStd }),
      spec('attn.c_proj.bias', [C], 'zeros'),
      spec('ln_2.weight', [C], 'ones'),
      spec('ln_2.bias', [C], 'zeros'),
      spec('mlp.c_fc.weight', [C, 4 * C], { normalStd: GPT2_INIT_STD }),
      spec('mlp.c_fc.bias', [4 * C], 'zeros'),
      spec('mlp.c_proj.weight', [4 * C, C], { normalStd: residualStd }),
      spec('mlp.c_proj.bias', [C], 'zeros'),
    ],
    stashes: {
      input: { lifetime: 'F→I', layout: (B: number, T: number) => inputStashLayout(B, T, C, NH) },
      weight: { lifetime: 'F→W', layout: (B: number, T: number) => weightStashLayout(B, T, C) },
      gradient: { lifetime: 'I→W', layout: (B: number, T: number) => gradientStashLayout(B, T, C) },
    },
    workspace: (B: number, T: number) => workspaceLayout(B, T, C, NH),
  } as const satisfies UnitLayouts;
}

export class BlockUnit extends UnitBase {
  readonly kind = 'block';
  readonly parameters: readonly Parameter[];
  readonly ln1: LayerNorm;
  readonly attnInput: Linear; // attn.c_attn [C, 3C]
  readonly attnProjection: Linear; // attn.c_proj [C, C]
  readonly ln2: LayerNorm;
  readonly mlpInput: Linear; // mlp.c_fc [C, 4C]
  readonly mlpProjection: Linear; // mlp.c_proj [4C, C]
  private readonly C: number;
  private readonly NH: number;
  private readonly inputStash: SlotPool<ReturnType<typeof inputStashLayout>>;
  private readonly weightStash: SlotPool<ReturnType<typeof weightStashLayout>>;
  private readonly gradientStash: SlotPool<ReturnType<typeof gradientStashLayout>>;
  private readonly workspace: Workspace<ReturnType<typeof workspaceLayout>>;
  protected readonly pools: readonly SlotPool<Layout>[];

  /** layer is the block index N (parameters h.N.*). */
  constructor(config: GPTConfig, layer: number, seed: number) {
    super(`h.${layer}`);
    const C = config.embd;
    this.C = C;
    this.NH = config.heads;
    const layouts = blockLayouts(config, layer);
    this.parameters = layouts.parameters.map(({ name, shape, init }) => createParameter(name, shape, init, seed));
    const [
      ln1Weight, ln1Bias, attnWeight, attnBias, attnProjWeight, attnProjBias,
      ln2Weight, ln2Bias, fcWeight, fcBias, mlpProjWeight, mlpProjBias,
    ] = this.parameters as [Parameter, Parameter, Parameter, Parameter, Parameter, Parameter, Parameter, Parameter, Parameter, Parameter, Parameter, Parameter];
    this.ln1 = new LayerNorm(ln1Weight, ln1Bias, C);
    this.attnInput = new Linear(attnWeight, attnBias, C, 3 * C, 'in-out');
    this.attnProjection = new Linear(attnProjWeight, attnProjBias, C, C, 'in-out');
    this.ln2 = new LayerNorm(ln2Weight, ln2Bias, C);
    this.mlpInput = new Linear(fcWeight, fcBias, C, 4 * C, 'in-out');
    this.mlpProjection = new Linear(mlpProjWeight, mlpProjBias, 4 * C, C, 'in-out');
    const maxT = config.blockSize;
    const name = this.name;
    this.inputStash = new SlotPool(name, 'attention and MLP activations', layouts.stashes.input.layout, maxT);
    this.weightStash = new SlotPool(name, 'layer inputs', layouts.stashes.weight.layout, maxT);
    this.gradientStash = new SlotPool(name, 'output gradients', layouts.stashes.gradient.layout, maxT);
    this.workspace = new Workspace(layouts.workspace, maxT);
    this.pools = [this.inputStash, this.weightStash, this.gradientStash];
  }

  forward(slot: number | null, batch: MicroBatch, input: Float32Array | null): Float32Array {
    const { B, T } = batch;
    const { C, NH } = this;
    const N = B * T;
    requireLength(input ?? undefined, N * C, this.name, 'input [B,T,C]');
    if (slot !== null) requireSlot(slot, this.name);
    const key = slot ?? TRANSIENT_SLOT;
    const i = this.inputStash.acquire(key, B, T).buffers;
    const w = this.weightStash.acquire(key, B, T).buffers;
    const work = this.workspace.get(B, T);
    w.x.set(input!);
    this.ln1.forward(w.ln1Out, { mean: w.ln1Mean, rstd: w.ln1Rstd }, w.x, N);
    this.attnInput.forward(work.qkv, w.ln1Out, N);
    attentionForward(w.attnY, i.qkvHeads, i.att, work.qkv, work, B, T, C, NH);
    this.attnProjection.forward(work.projection, w.attnY, N);
    residualForward(w.x2, w.x, work.projection, N * C);
    this.ln2.forward(w.ln2Out, { mean: w.ln2Mean, rstd: w.ln2Rstd }, w.x2, N);
    this.mlpInput.forward(i.geluDerivative, w.ln2Out, N);
    geluForward(w.gelu, i.geluDerivative, i.geluDerivative, N * 4 * C); // the pre-activation becomes gelu'
    this.mlpProjection.forward(work.projection, w.gelu, N);
    residualForward(work.out, w.x2, work.projection, N * C);
    if (slot === null) this.release(TRANSIENT_SLOT);
    return prefix(work.out, N * C);
  }

  backwardInput(slot: number, gradOutput: Float32Array | number): Float32Array {
    const dOut = requireActivationGradient(gradOutput, this.name);
    const { B, T, buffers: i } = this.inputStash.get(slot);
    const { C, NH } = this;
    const N = B * T;
    requireLength(dOut, N * C, this.name, 'output gradient [B,T,C]');
    const w = this.weightStash.get(slot).buffers;
    const g = this.gradientStash.acquire(slot, B, T).buffers;
    const work = this.workspace.get(B, T);
    g.dOut.set(dOut);
    // MLP branch: dgelu = dOut·Wᵀ, then through GELU in place.
    this.mlpProjection.backwardInput(g.dfc, g.dOut, N);
    geluBackward(g.dfc, i.geluDerivative, g.dfc, N * 4 * C);
    this.mlpInput.backwardInput(g.dln2Out, g.dfc, N);
    // Residual: the skip passes dOut through unchanged; ln_2's backward adds the branch.
    g.dx2.set(prefix(g.dOut, N * C));
    this.ln2.backwardInput(g.dx2, g.dln2Out, w.x2, { mean: w.ln2Mean, rstd: w.ln2Rstd }, N);
    // Attention branch.
    this.attnProjection.backwardInput(work.dAttnY, g.dx2, N);
    attentionBackward(g.dqkv, work.dAttnY, i.qkvHeads, i.att, work, B, T, C, NH);
    this.attnInput.backwardInput(g.dln1Out, g.dqkv, N);
    work.dX.set(prefix(g.dx2, N * C));
    this.ln1.backwardInput(work.dX, g.dln1Out, w.x, { mean: w.ln1Mean, rstd: w.ln1Rstd }, N);
    this.inputStash.release(slot);
    return prefix(work.dX, N * C);
  }

  backwardWeight(slot: number): void {
    const { B, T, buffers: w } = this.weightStash.get(slot);
    const g = this.gradientStash.get(slot).buffers;
    const N = B * T;
    this.mlpProjection.backwardWeight(g.dOut, w.gelu, N);
    this.mlpInput.backwardWeight(g.dfc, w.ln2Out, N);
    this.ln2.backwardWeight(g.dln2Out, w.x2, { mean: w.ln2Mean, rstd: w.ln2Rstd }, N);
    this.attnProjection.backwardWeight(g.dx2, w.attnY, N);
    this.attnInput.backwardWeight(g.dqkv, w.ln1Out, N);
    this.ln1.backwardWeight(g.dln1Out, w.x, { mean: w.ln1Mean, rstd: w.ln1Rstd }, N);
    this.weightStash.release(slot);
    this.gradientStash.release(slot);
  }

  stashBytes(B: number, T: number): StashBytes {
    const weightInputs = this.weightStash.bytesPerSlot(B, T);
    return {
      forward: this.inputStash.bytesPerSlot(B, T) + weightInputs,
      weight: weightInputs + this.gradientStash.bytesPerSlot(B, T),
    };
  }
}
