import { UsageError } from '../errors.js';
import { printable } from '../quote.js';
import type { Batch } from './batches.js';

/** What the model accepts: ids in [0, vocabSize) and at most maxSeqLen inputs per row. */
export interface TokenLimits {
  readonly vocabSize: number;
  readonly maxSeqLen: number;
}

/**
 * Reads rows of token ids given as JSON (e.g. `eval --tokens`): every row has the same length T+1;
 * inputs are all but the last id, targets all but the first. Returns batches of up to rowsPerBatch rows.
 */
export function tokenRowBatches(value: unknown, source: string, limits: TokenLimits, rowsPerBatch: number): Batch[] {
  if (!Array.isArray(value) || value.length === 0) throw new UsageError(`${source} must hold a non-empty JSON array of token-id rows, e.g. [[1,2,3],[4,5,6]]`);
  const length = Array.isArray(value[0]) ? value[0].length : 0;
  value.forEach((row: unknown, r) => {
    if (!Array.isArray(row) || row.length !== length) throw new UsageError(`${source}: row ${r} is not a list of ${length} token ids like row 0`);
    row.forEach((id: unknown, t) => {
      if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= limits.vocabSize) {
        throw new UsageError(`${source}: row ${r}, position ${t} is ${printable(JSON.stringify(id) ?? String(id))}, expected a token id in [0, ${limits.vocabSize})`);
      }
    });
  });
  const seqLen = length - 1;
  if (seqLen < 1) throw new UsageError(`${source}: rows need at least 2 ids (T+1 with T >= 1), got ${length}`);
  if (seqLen > limits.maxSeqLen) {
    throw new UsageError(`${source}: rows of ${length} ids give ${seqLen} inputs, more than the model's n_positions ${limits.maxSeqLen}; use rows of at most ${limits.maxSeqLen + 1} ids`);
  }
  const rows = value as number[][];
  const batches: Batch[] = [];
  for (let first = 0; first < rows.length; first += rowsPerBatch) {
    const chunk = rows.slice(first, first + rowsPerBatch);
    batches.push({
      batchSize: chunk.length,
      seqLen,
      inputs: Int32Array.from(chunk.flatMap((row) => row.slice(0, -1))), // [B, T]
      targets: Int32Array.from(chunk.flatMap((row) => row.slice(1))), // [B, T]
    });
  }
  return batches;
}
