import { UsageError } from '../errors.js';
import { streamRandom } from './random.js';

/** B sequences of T tokens and, for each, the token that follows every position. */
export interface Batch {
  /** B */
  readonly batchSize: number;
  /** T */
  readonly seqLen: number;
  /** [B, T] token ids */
  readonly inputs: Int32Array;
  /** [B, T] token ids: targets[b, t] = inputs[b, t + 1] of the same text window */
  readonly targets: Int32Array;
}

export interface BatchShape {
  readonly batchSize: number;
  readonly seqLen: number;
  /** Windows start at multiples of this (default 1): the line length of a fixed-width task keeps lines at fixed positions. */
  readonly alignment?: number;
}

/** Training tokens and a held-out tail for validation loss. */
export interface TokenSplit {
  readonly train: Int32Array;
  readonly validation: Int32Array;
}

/** The last `validationFraction` of the tokens are held out; both parts are views, not copies. */
export function splitTokens(tokens: Int32Array, validationFraction = 0.1): TokenSplit {
  if (!(validationFraction > 0 && validationFraction < 1)) throw new RangeError(`validationFraction ${validationFraction} is not in (0, 1)`);
  const trainLength = tokens.length - Math.max(1, Math.round(tokens.length * validationFraction));
  return { train: tokens.subarray(0, trainLength), validation: tokens.subarray(trainLength) };
}

/** Copies the windows tokens[start .. start + T] into row b of a batch. */
function windowsToBatch(tokens: Int32Array, starts: readonly number[], seqLen: number): Batch {
  const batchSize = starts.length;
  const inputs = new Int32Array(batchSize * seqLen); // [B, T]
  const targets = new Int32Array(batchSize * seqLen); // [B, T]
  starts.forEach((start, b) => {
    inputs.set(tokens.subarray(start, start + seqLen), b * seqLen);
    targets.set(tokens.subarray(start + 1, start + seqLen + 1), b * seqLen);
  });
  return { batchSize, seqLen, inputs, targets };
}

/** Checks the shape against the tokens; returns how many aligned window starts there are. */
function windowStarts(tokens: Int32Array, shape: BatchShape, part: string): number {
  const { batchSize, seqLen, alignment = 1 } = shape;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError(`batch size ${batchSize} must be a positive integer`);
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new UsageError(`sequence length ${seqLen} must be a positive integer`);
  if (!Number.isInteger(alignment) || alignment < 1) throw new RangeError(`alignment ${alignment} must be a positive integer`);
  if (tokens.length < seqLen + 1) {
    throw new UsageError(`the ${part} has ${tokens.length} tokens but sequence length ${seqLen} needs at least ${seqLen + 1}; use more text or a shorter --seq-len`);
  }
  return Math.floor((tokens.length - seqLen - 1) / alignment) + 1;
}

/**
 * Batch number `index` of the stream `seed`: B windows at uniformly random (aligned) offsets.
 * A pure function of (seed, index), so a resumed run or any pipeline rank draws the same batch.
 */
export function sampleBatch(tokens: Int32Array, shape: BatchShape, seed: number, index: number): Batch {
  const count = windowStarts(tokens, shape, 'training split');
  const random = streamRandom(seed, index);
  const starts = Array.from({ length: shape.batchSize }, () => random.nextBelow(count) * (shape.alignment ?? 1));
  return windowsToBatch(tokens, starts, shape.seqLen);
}

/** The training batches of a run in order; `position` (batches drawn so far) is all a checkpoint needs to resume. */
export class BatchSampler {
  position: number;

  constructor(
    private readonly tokens: Int32Array,
    private readonly shape: BatchShape,
    private readonly seed: number,
    position = 0,
  ) {
    windowStarts(tokens, shape, 'training split');
    this.position = position;
  }

  next(): Batch {
    return sampleBatch(this.tokens, this.shape, this.seed, this.position++);
  }
}

/**
 * A fixed validation set: `count` batches whose B·count windows are spread evenly from the first
 * to the last possible (aligned) start of the validation tokens (overlapping only when the split is short).
 */
export function validationBatches(tokens: Int32Array, shape: BatchShape, count: number): Batch[] {
  const lastSlot = windowStarts(tokens, shape, 'validation split') - 1;
  const windows = shape.batchSize * count;
  const starts = Array.from({ length: windows }, (_, w) => (windows === 1 ? 0 : Math.floor((w * lastSlot) / (windows - 1))) * (shape.alignment ?? 1));
  return Array.from({ length: count }, (_, i) =>
    windowsToBatch(tokens, starts.slice(i * shape.batchSize, (i + 1) * shape.batchSize), shape.seqLen),
  );
}

/**
 * Every next-token prediction of a text exactly once: consecutive windows of T+1 tokens overlapping by
 * one (inputs tokens[kT .. kT+T), targets one further), `rowsPerBatch` windows to a batch, then the
 * shorter remainder as a batch of its own. Context restarts at each window, as in GPT-2's evaluation.
 */
export function evaluationBatches(tokens: Int32Array, seqLen: number, rowsPerBatch: number): Batch[] {
  if (tokens.length < 2) throw new UsageError(`the text has ${tokens.length} token; evaluation needs at least 2`);
  const fullWindows = Math.floor((tokens.length - 1) / seqLen);
  const starts = Array.from({ length: fullWindows }, (_, w) => w * seqLen);
  const batches: Batch[] = [];
  for (let first = 0; first < fullWindows; first += rowsPerBatch) {
    batches.push(windowsToBatch(tokens, starts.slice(first, first + rowsPerBatch), seqLen));
  }
  const remainder = tokens.length - 1 - fullWindows * seqLen;
  if (remainder > 0) batches.push(windowsToBatch(tokens, [fullWindows * seqLen], remainder));
  return batches;
}
