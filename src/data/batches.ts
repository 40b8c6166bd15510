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

function checkShape(tokens: Int32Array, shape: BatchShape, part: string): void {
  const { batchSize, seqLen } = shape;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError(`batch size ${batchSize} must be a positive integer`);
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new UsageError(`sequence length ${seqLen} must be a positive integer`);
  if (tokens.length < seqLen + 1) {
    throw new UsageError(`the ${part} has ${tokens.length} tokens but sequence length ${seqLen} needs at least ${seqLen + 1}; use more text or a shorter --seq-len`);
  }
}

/**
 * Batch number `index` of the stream `seed`: B windows at uniformly random offsets.
 * A pure function of (seed, index), so a resumed run or any pipeline rank draws the same batch.
 */
export function sampleBatch(tokens: Int32Array, shape: BatchShape, seed: number, index: number): Batch {
  checkShape(tokens, shape, 'training split');
  const random = streamRandom(seed, index);
  const offsets = tokens.length - shape.seqLen; // valid starts: 0 .. len - T - 1
  const starts = Array.from({ length: shape.batchSize }, () => random.nextBelow(offsets));
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
    checkShape(tokens, shape, 'training split');
    this.position = position;
  }

  next(): Batch {
    return sampleBatch(this.tokens, this.shape, this.seed, this.position++);
  }
}

/**
 * A fixed validation set: `count` batches whose B·count windows are spread evenly from the first
 * to the last possible start of the validation tokens (overlapping only when the split is short).
 */
export function validationBatches(tokens: Int32Array, shape: BatchShape, count: number): Batch[] {
  checkShape(tokens, shape, 'validation split');
  const windows = shape.batchSize * count;
  const lastStart = tokens.length - shape.seqLen - 1;
  const starts = Array.from({ length: windows }, (_, w) => (windows === 1 ? 0 : Math.floor((w * lastStart) / (windows - 1))));
  return Array.from({ length: count }, (_, i) =>
    windowsToBatch(tokens, starts.slice(i * shape.batchSize, (i + 1) * shape.batchSize), shape.seqLen),
  );
}
