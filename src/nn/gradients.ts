/**
 * Gradients across parameters: zeroing before a step, and global-norm clipping. The norm is reduced from
 * per-parameter sums of squares (float64) in one fixed global order, so ranks that each hold some
 * parameters get bitwise the same norm as one worker holding all of them.
 */
import { clipScale, sumOfSquares } from '../tensor/index.js';
import type { Parameter } from './parameter.js';

export { clipScale };

export interface GradientSquareSum {
  readonly name: string;
  readonly sumOfSquares: number;
}

export function zeroGradients(parameters: readonly Parameter[]): void {
  for (const parameter of parameters) parameter.grad.fill(0);
}

/** Per-parameter Σ grad², in list order; gather every rank's list in unit order for the global norm. */
export function gradientSquareSums(parameters: readonly Parameter[]): GradientSquareSum[] {
  return parameters.map((parameter) => ({
    name: parameter.name,
    sumOfSquares: sumOfSquares(parameter.grad, parameter.grad.length),
  }));
}

/** sqrt of the sum in the given order, counting each name once (a tied copy holds the same gradient). */
export function globalGradientNorm(sums: readonly GradientSquareSum[]): number {
  const seen = new Set<string>();
  let total = 0;
  for (const { name, sumOfSquares: value } of sums) {
    if (seen.has(name)) continue;
    seen.add(name);
    total += value;
  }
  return Math.sqrt(total);
}
