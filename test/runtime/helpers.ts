/** A tiny model and a synthetic corpus, so runtime tests run many pipelines in seconds. */
import assert from 'node:assert/strict';
import { parseTrainOptions, type TrainOptions } from '../../src/runtime/config.js';
import type { Corpus, RunResult } from '../../src/runtime/train.js';
import type { GPTConfig } from '../../src/nn/index.js';

export const vocabSize = 13;

export function tinyOptions(overrides: Record<string, unknown> = {}): TrainOptions {
  return parseTrainOptions({
    layers: '4', embd: '16', heads: '2', seqLen: '8', batchSize: '8', microbatches: '4', steps: '3', lr: '1e-2',
    weightDecay: '0.1', clip: '1', seed: '5', untied: false, stages: '1', replicas: '1', schedule: '1f1b', recompute: false, json: true,
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

/** Every step's loss within 1e-6 relative, and every parameter tensor within 1e-6 relative (by its norm), of the reference run. */
export function assertSameTraining(actual: RunResult, expected: RunResult, label: string): void {
  assert.equal(actual.steps.length, expected.steps.length);
  actual.steps.forEach((step, i) => {
    const reference = expected.steps[i]!.loss;
    assert.ok(Math.abs(step.loss - reference) <= 1e-6 * Math.abs(reference), `${label}: step ${step.step} loss ${step.loss} vs ${reference}`);
  });
  for (const [t, tensor] of actual.state.tensors.entries()) {
    const reference = expected.state.tensors[t]!;
    assert.equal(tensor.name, reference.name);
    // Relative difference of the whole tensor: ||actual - expected|| / ||expected||.
    let difference = 0;
    let norm = 0;
    for (let i = 0; i < tensor.data.length; i++) {
      difference += (tensor.data[i]! - reference.data[i]!) ** 2;
      norm += reference.data[i]! ** 2;
    }
    const relative = Math.sqrt(difference / norm);
    assert.ok(relative <= 1e-6, `${label}: ${tensor.name} differs by ${relative} (relative)`);
  }
}
