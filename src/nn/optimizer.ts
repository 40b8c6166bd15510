/**
 * AdamW over a list of parameters, with its own state (first and second moments per parameter, and the
 * step count). Weight decay follows GPT-2 / nanoGPT practice: only tensors with two or more dimensions
 * decay (the four matmul weights per block, wte, wpe, lm_head); biases and LayerNorm weights do not.
 */
import { UsageError } from '../errors.js';
import { adamwUpdate, type AdamWHyperparameters } from '../tensor/index.js';
import type { Parameter } from './parameter.js';

export interface AdamWOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  /** Applied to decayed tensors only (see decays). */
  readonly weightDecay?: number;
}

export interface Moments {
  readonly m: Float32Array;
  readonly v: Float32Array;
}

/** Everything a checkpoint needs to resume the optimizer exactly, keyed by parameter name. */
export interface OptimizerState {
  /** Updates taken so far (bias correction uses step + 1 next). */
  readonly step: number;
  readonly moments: ReadonlyMap<string, Moments>;
}

/** nanoGPT's defaults. */
const DEFAULTS = { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1 };

/** Whether weight decay applies: 2-D (and larger) weights yes; biases and LayerNorm weights no. */
export function decays(parameter: Parameter): boolean {
  return parameter.shape.length >= 2;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  private steps = 0;
  private readonly moments: Moments[];

  constructor(
    readonly parameters: readonly Parameter[],
    options: AdamWOptions = {},
  ) {
    const settings = { ...DEFAULTS, ...options };
    this.beta1 = settings.beta1;
    this.beta2 = settings.beta2;
    this.epsilon = settings.epsilon;
    this.weightDecay = settings.weightDecay;
    this.moments = parameters.map((parameter) => ({
      m: new Float32Array(parameter.data.length),
      v: new Float32Array(parameter.data.length),
    }));
  }

  get step(): number {
    return this.steps;
  }

  /** One step from the accumulated gradients, each multiplied by gradScale (the clip factor) on the fly. */
  update(learningRate: number, gradScale = 1): void {
    if (!(learningRate >= 0 && Number.isFinite(learningRate))) {
      throw new UsageError(`learning rate must be a non-negative number, got ${learningRate}`);
    }
    this.steps += 1;
    const { beta1, beta2, epsilon, weightDecay } = this;
    const decayed: AdamWHyperparameters = { learningRate, beta1, beta2, epsilon, weightDecay };
    const undecayed: AdamWHyperparameters = { ...decayed, weightDecay: 0 };
    for (let p = 0; p < this.parameters.length; p++) {
      const parameter = this.parameters[p]!;
      const { m, v } = this.moments[p]!;
      const hyper = decays(parameter) ? decayed : undecayed;
      adamwUpdate(parameter.data, parameter.grad, m, v, m.length, this.steps, gradScale, hyper);
    }
  }

  /** The state by parameter name (tied copies share a name and hold equal moments, so one entry serves both). */
  exportState(): OptimizerState {
    const moments = new Map<string, Moments>();
    this.parameters.forEach((parameter, p) => moments.set(parameter.name, this.moments[p]!));
    return { step: this.steps, moments };
  }

  /** Restores a saved state; every parameter must be present with its size, or nothing is changed. */
  importState(state: OptimizerState): void {
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new UsageError(`optimizer step must be a non-negative integer, got ${state.step}`);
    }
    for (const parameter of this.parameters) {
      const saved = state.moments.get(parameter.name);
      if (saved === undefined) throw new UsageError(`optimizer state has no moments for ${parameter.name}`);
      const length = parameter.data.length;
      if (saved.m.length !== length || saved.v.length !== length) {
        throw new UsageError(
          `optimizer state for ${parameter.name} has ${saved.m.length} and ${saved.v.length} values, expected ${length}`,
        );
      }
    }
    this.parameters.forEach((parameter, p) => {
      const saved = state.moments.get(parameter.name)!;
      this.moments[p]!.m.set(saved.m);
      this.moments[p]!.v.set(saved.v);
    });
    this.steps = state.step;
  }
}
