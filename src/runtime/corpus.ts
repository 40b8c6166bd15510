/** Training data as the run sees it: seeded training batches and a fixed validation set. */
import { sampleBatch, validationBatches } from '../data/batches.js';
import type { TrainingData } from '../data/training-data.js';
import type { Corpus } from './pipeline-training.js';

/** Validation batches per run: enough windows for a stable loss, few enough to keep the end of a run short. */
const validationBatchCount = 4;

/** Windows start on multiples of data.alignment (line starts for the built-in task), so every position sees the same part of a line. */
export function corpusFromData(data: TrainingData, batchSize: number, seqLen: number, seed: number): Corpus {
  const shape = { batchSize, seqLen, alignment: data.alignment };
  return {
    vocabSize: data.tokenizer.vocabSize,
    batch: (position) => sampleBatch(data.train, shape, seed, position),
    validation: validationBatches(data.validation, shape, validationBatchCount),
  };
}
