import { SplitMix32 } from './random.js';

/** Next-token probabilities [V] after a context of token ids. */
export type NextTokenProbabilities = (context: Int32Array) => Float32Array;

export interface GenerationOptions {
  /** Tokens to add after the prompt. */
  readonly count: number;
  /** 0 picks the most likely token; otherwise probabilities are sharpened (< 1) or flattened (> 1). */
  readonly temperature: number;
  readonly seed: number;
  /** The longest context the model takes (n_positions); older tokens slide out of the window. */
  readonly contextLength: number;
}

/** Draws one token from probs^(1/temperature), renormalised (the same as softmax(logits / temperature)). */
export function sampleToken(probabilities: Float32Array, temperature: number, random: SplitMix32): number {
  const logs = Array.from(probabilities, (p) => Math.log(p) / temperature);
  const top = logs.reduce((most, value) => Math.max(most, value), -Infinity);
  const weights = logs.map((value) => Math.exp(value - top));
  let threshold = random.nextFloat() * weights.reduce((sum, w) => sum + w, 0);
  let lastPossible = 0;
  for (let id = 0; id < weights.length; id++) {
    if (weights[id]! === 0) continue;
    threshold -= weights[id]!;
    if (threshold < 0) return id;
    lastPossible = id;
  }
  return lastPossible; // rounding left a sliver of the threshold
}

/** Extends the prompt token by token; the model is a callback, so this room stays independent of it. */
export function generateTokens(prompt: Int32Array, options: GenerationOptions, nextTokenProbabilities: NextTokenProbabilities): Int32Array {
  const { count, temperature, seed, contextLength } = options;
  const random = new SplitMix32(seed);
  const sequence = new Int32Array(prompt.length + count);
  sequence.set(prompt);
  for (let length = prompt.length; length < sequence.length; length++) {
    const probabilities = nextTokenProbabilities(sequence.subarray(Math.max(0, length - contextLength), length));
    sequence[length] = temperature === 0 ? argmax(probabilities) : sampleToken(probabilities, temperature, random);
  }
  return sequence.subarray(prompt.length);
}

/** The last position of each row: values [rows, length, width] -> [rows, width] (e.g. next-token probabilities). */
export function lastPosition(values: Float32Array, rows: number, length: number, width: number): Float32Array {
  if (values.length !== rows * length * width) throw new RangeError(`${values.length} values are not [${rows}, ${length}, ${width}]`);
  const last = new Float32Array(rows * width);
  for (let row = 0; row < rows; row++) last.set(values.subarray(((row + 1) * length - 1) * width, (row + 1) * length * width), row * width);
  return last;
}

/** Index of the largest value; the first one on ties, as greedy decoding conventionally picks. */
export function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
