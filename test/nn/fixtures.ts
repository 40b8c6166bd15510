/** Small models and batches for the model tests. */
import { clipScale, globalGradientNorm, gradientSquareSums, zeroGradients } from '../../src/nn/gradients.js';
import type { AdamW } from '../../src/nn/optimizer.js';
import type { GPTConfig, Parameter } from '../../src/nn/parameter.js';
import type { ModelSegment } from '../../src/nn/segment.js';
import { findTiedParameters, sumTiedGradients } from '../../src/nn/tied.js';
import type { MicroBatch } from '../../src/nn/units/unit.js';
import { randomArray, randomIds } from '../tensor/ops/helpers.js';

export const smallConfig: GPTConfig = { vocabSize: 11, blockSize: 8, layers: 2, embd: 8, heads: 2, tied: true };

/** Random [B,T] tokens and targets (targets = the tokens shifted by one, as the data pipeline gives them). */
export function randomBatch(B: number, T: number, V: number, seed: number) {
  const sequence = randomIds(B * (T + 1), V, seed);
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      tokens[b * T + t] = sequence[b * (T + 1) + t]!;
      targets[b * T + t] = sequence[b * (T + 1) + t + 1]!;
    }
  }
  return { B, T, tokens, targets };
}

/**
 * Moves every parameter away from its init (LayerNorm weights around 1, the rest around 0) so gradient
 * checks see generic values; tied copies (same name) get the same values.
 */
export function perturbParameters(parameters: readonly Parameter[], seed: number, scale = 0.3): void {
  for (const parameter of parameters) {
    let nameSeed = seed;
    for (let i = 0; i < parameter.name.length; i++) nameSeed = Math.imul(nameSeed ^ parameter.name.charCodeAt(i), 16777619);
    const noise = randomArray(parameter.data.length, nameSeed >>> 0, scale);
    const centre = parameter.name.includes('ln') && parameter.name.endsWith('weight') ? 1 : 0;
    for (let i = 0; i < noise.length; i++) parameter.data[i] = centre + noise[i]!;
  }
}

/** A random [B,T,C] activation. */
export function randomActivation(B: number, T: number, C: number, seed: number): Float32Array {
  return randomArray(B * T * C, seed);
}

/** One optimizer step on one worker: accumulate micro-batches (loss scale 1/m), tie, clip, AdamW. */
export function trainStep(
  segment: ModelSegment,
  optimizer: AdamW,
  microbatches: readonly MicroBatch[],
  learningRate: number,
  maxNorm = 1,
): { loss: number; norm: number } {
  zeroGradients(segment.parameters);
  let loss = 0;
  microbatches.forEach((batch, slot) => {
    loss += (segment.forward(slot, batch) as number) / microbatches.length;
    segment.backward(slot, 1 / microbatches.length);
  });
  sumTiedGradients(findTiedParameters(segment.parameters));
  const norm = globalGradientNorm(gradientSquareSums(segment.parameters));
  optimizer.update(learningRate, clipScale(norm, maxNorm));
  return { loss, norm };
}
