/** A token stream as the training run sees it: seeded training batches and a fixed validation set. */
import { sampleBatch, splitTokens, validationBatches } from '../data/batches.js';
import type { Corpus } from './train.js';

/** Validation batches per run: enough windows for a stable loss, few enough to keep the end of a run short. */
const validationBatchCount = 4;

export function corpusFromTokens(tokens: Int32Array, vocabSize: number, batchSize: number, seqLen: number, seed: number): Corpus {
  const split = splitTokens(tokens);
  const shape = { batchSize, seqLen };
  return {
    vocabSize,
    batch: (position) => sampleBatch(split.train, shape, seed, position),
    validation: validationBatches(split.validation, shape, validationBatchCount),
  };
}
