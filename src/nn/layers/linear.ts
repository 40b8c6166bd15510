/**
 * y = x·W (+ b) on the GEMM. Hugging Face GPT-2 stores W two ways: Conv1D layers as [in, out]
 * ('in-out', y = x·W) and the LM head as [out, in] ('out-in', y = x·Wᵀ); the checkpoint keeps each as is.
 */
import { matmul, biasBackward, fillRowsWithBias } from '../../tensor/index.js';
import type { Parameter } from '../parameter.js';

export type WeightLayout = 'in-out' | 'out-in';

export class Linear {
  constructor(
    readonly weight: Parameter, // [in, out] or [out, in], per layout
    readonly bias: Parameter | null, // [out]
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly layout: WeightLayout,
  ) {}

  /** y[N,out] = x[N,in]·W + b (overwrites y). */
  forward(y: Float32Array, x: Float32Array, N: number): void {
    // The bias is copied in first and the product accumulated onto it: no second pass over y.
    if (this.bias !== null) fillRowsWithBias(y, this.bias.data, N, this.outFeatures);
    const accumulate = this.bias !== null;
    matmul(y, x, this.weight.data, N, this.inFeatures, this.outFeatures, { transB: this.layout === 'out-in', accumulate });
  }

  /** dx[N,in] = dy[N,out]·Wᵀ (overwrites dx). */
  backwardInput(dx: Float32Array, dy: Float32Array, N: number): void {
    matmul(dx, dy, this.weight.data, N, this.outFeatures, this.inFeatures, { transB: this.layout === 'in-out' });
  }

  /** dW += xᵀ·dy (or dyᵀ·x for 'out-in'), db += Σ rows of dy; x[N,in] is the input the forward saw. */
  backwardWeight(dy: Float32Array, x: Float32Array, N: number): void {
    if (this.layout === 'in-out') {
      matmul(this.weight.grad, x, dy, this.inFeatures, N, this.outFeatures, { transA: true, accumulate: true });
    } else {
      matmul(this.weight.grad, dy, x, this.outFeatures, N, this.inFeatures, { transA: true, accumulate: true });
    }
    if (this.bias !== null) biasBackward(this.bias.grad, dy, N, this.outFeatures);
  }

  /** Both halves, in the order a full backward runs them. */
  backward(dx: Float32Array, dy: Float32Array, x: Float32Array, N: number): void {
    this.backwardInput(dx, dy, N);
    this.backwardWeight(dy, x, N);
  }
}
