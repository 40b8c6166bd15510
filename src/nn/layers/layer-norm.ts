/** LayerNorm over channels with its weight and bias; the caller holds the stash (input, mean, rstd). */
import { layerNormBackwardInput, layerNormBackwardWeight, layerNormForward } from '../../tensor/index.js';
import type { Parameter } from '../parameter.js';

/** What the forward leaves for the backward, per row. */
export interface LayerNormStats {
  readonly mean: Float32Array; // [N]
  readonly rstd: Float32Array; // [N]
}

export class LayerNorm {
  constructor(
    readonly weight: Parameter, // [C]
    readonly bias: Parameter, // [C]
    readonly channels: number,
  ) {}

  /** out[N,C] = layernorm(x[N,C]); fills stats. */
  forward(out: Float32Array, stats: LayerNormStats, x: Float32Array, N: number): void {
    layerNormForward(out, stats.mean, stats.rstd, x, this.weight.data, this.bias.data, N, this.channels);
  }

  /** dx[N,C] += dX from dy[N,C] (accumulates into the residual stream's gradient). */
  backwardInput(dx: Float32Array, dy: Float32Array, x: Float32Array, stats: LayerNormStats, N: number): void {
    layerNormBackwardInput(dx, dy, x, this.weight.data, stats.mean, stats.rstd, N, this.channels);
  }

  backwardWeight(dy: Float32Array, x: Float32Array, stats: LayerNormStats, N: number): void {
    layerNormBackwardWeight(this.weight.grad, this.bias.grad, dy, x, stats.mean, stats.rstd, N, this.channels);
  }

  backward(dx: Float32Array, dy: Float32Array, x: Float32Array, stats: LayerNormStats, N: number): void {
    this.backwardInput(dx, dy, x, stats, N);
    this.backwardWeight(dy, x, stats, N);
  }
}
