/** A tiny model and a synthetic corpus, so runtime tests run many pipelines in seconds. */
import { parseTrainOptions, type TrainOptions } from '../../src/runtime/config.js';
import type { Corpus } from '../../src/runtime/train.js';
import type { GPTConfig } from '../../src/nn/index.js';

export const vocabSize = 13;

export function tinyOptions(overrides: Record<string, unknown> = {}): TrainOptions {
  return parseTrainOptions({
    layers: '4', embd: '16', heads: '2', seqLen: '8', batchSize: '8', microbatches: '4', steps: '3', lr: '1e-2',
    weightDecay: '0.1', clip: '1', seed: '5', untied: false, stages: '1', schedule: '1f1b', recompute: false, json: true,
    ...overrides,
  });
}

export function tinyConfig(options: TrainOptions): GPTConfig {
  return { vocabSize, blockSize: options.seqLen, layers: options.layers, embd: options.embd, heads: options.heads, tied: !options.untied };
}

/** Deterministic pseudo-text: batch `position` is a pure function of the position. */
export function tinyCorpus(options: TrainOptions): Corpus {
  const rows = options.batchSize * options.seqLen;
  const make = (position: number) => ({
    inputs: Int32Array.from({ length: rows }, (_, i) => (i * 7 + position * 3) % vocabSize),
    targets: Int32Array.from({ length: rows }, (_, i) => (i * 5 + position) % vocabSize),
  });
  return { vocabSize, batch: make, validation: [make(1000), make(1001)] };
}
