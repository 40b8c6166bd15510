/** Token + learned position embedding. Token ids have no gradient, so the backward is the weight half only. */
import { UsageError } from '../../errors.js';
import { embeddingBackward, embeddingForward } from '../../tensor/index.js';
import type { Parameter } from '../parameter.js';

export class Embedding {
  constructor(
    readonly tokenTable: Parameter, // wte [V, C]
    readonly positionTable: Parameter, // wpe [blockSize, C]
    readonly vocabSize: number,
    readonly blockSize: number,
    readonly channels: number,
  ) {}

  /** out[B,T,C] = wte[tokens] + wpe[0..T); refuses ids outside the vocabulary and T above the block size. */
  forward(out: Float32Array, tokens: Int32Array, B: number, T: number): void {
    if (T > this.blockSize) {
      throw new UsageError(`sequence length ${T} exceeds the model's block size ${this.blockSize}`);
    }
    for (let i = 0; i < B * T; i++) {
      const token = tokens[i]!;
      if (!(token >= 0 && token < this.vocabSize)) {
        throw new UsageError(`token id ${token} at position ${i} is outside the vocabulary [0, ${this.vocabSize})`);
      }
    }
    embeddingForward(out, tokens, this.tokenTable.data, this.positionTable.data, B, T, this.channels);
  }

  /** Scatter-adds dout[B,T,C] into both tables' gradients. */
  backwardWeight(dout: Float32Array, tokens: Int32Array, B: number, T: number): void {
    embeddingBackward(this.tokenTable.grad, this.positionTable.grad, dout, tokens, B, T, this.channels);
  }
}
