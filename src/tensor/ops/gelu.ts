/** GELU with the tanh approximation GPT-2 was trained with: 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3). */
import { fastTanh } from './tanh.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const CUBIC = 0.044715;

/** out[n] = gelu(inp[n]); out may alias inp. */
export function geluForward(out: Float32Array, inp: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = inp[i]!;
    out[i] = 0.5 * x * (1 + fastTanh(SQRT_2_OVER_PI * (x + CUBIC * x * x * x)));
  }
}

/** dinp[n] = dout * gelu'(inp) (overwrites); dinp may alias dout, which is how the MLP uses it. */
export function geluBackward(dinp: Float32Array, inp: Float32Array, dout: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = inp[i]!;
    const xx = x * x;
    const t = fastTanh(SQRT_2_OVER_PI * (x + CUBIC * xx * x));
    const derivative = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * CUBIC * xx);
    dinp[i] = dout[i]! * derivative;
  }
}
