/**
 * GELU with the tanh approximation GPT-2 was trained with: 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
 * The forward also writes gelu'(x), which shares the expensive tanh; the backward is then one multiply,
 * and the derivative takes the place of the pre-activation in the stash (same size, x is not needed again).
 */
import { fastTanh } from './tanh.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const CUBIC = 0.044715;

/** out[n] = gelu(inp[n]) and derivative[n] = gelu'(inp[n]); derivative may alias inp. */
export function geluForward(out: Float32Array, derivative: Float32Array, inp: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = inp[i]!;
    const xx = x * x;
    const t = fastTanh(SQRT_2_OVER_PI * (x + CUBIC * xx * x));
    out[i] = 0.5 * x * (1 + t);
    derivative[i] = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * CUBIC * xx);
  }
}

/** dinp[n] = dout * gelu'(x) from the forward's derivative (overwrites); dinp may alias dout. */
export function geluBackward(dinp: Float32Array, derivative: Float32Array, dout: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dinp[i] = dout[i]! * derivative[i]!;
}
