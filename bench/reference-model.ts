/** The reference GPT the benches train (4 layers, C=256, 4 heads, T=128, V=65, tied head) and its input. */
import type { GPTConfig } from '../src/nn/parameter.js';
import type { MicroBatch } from '../src/nn/units/unit.js';

export const referenceConfig: GPTConfig = { vocabSize: 65, blockSize: 128, layers: 4, embd: 256, heads: 4, tied: true };

/** B sequences of deterministic tokens and targets ([B, T] each); the figures do not depend on the data. */
export function referenceBatch(B: number, offset: number): Required<MicroBatch> {
  const T = referenceConfig.blockSize;
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) {
    tokens[i] = (i * 7 + offset) % referenceConfig.vocabSize;
    targets[i] = (i * 11 + offset + 3) % referenceConfig.vocabSize;
  }
  return { B, T, tokens, targets };
}
