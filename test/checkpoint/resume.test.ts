import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resumeTraining, saveCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { additionAccuracy, additionText, additionTokenizer } from '../../src/data/addition.js';
import { lastPosition } from '../../src/data/sampling.js';
import { additionTrainingData } from '../../src/data/training-data.js';
import { BatchSampler } from '../../src/data/batches.js';
import { AdamW } from '../../src/nn/optimizer.js';
import { buildSegment, type ModelSegment } from '../../src/nn/segment.js';
import { findTiedParameters, sumTiedGradients } from '../../src/nn/tied.js';
import { zeroGradients } from '../../src/nn/gradients.js';
import type { GPTConfig } from '../../src/nn/parameter.js';

const dir = mkdtempSync(join(tmpdir(), 'conveyor-resume-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const tokenizer = additionTokenizer();
const tokens = tokenizer.encode(additionText({ digits: 2 }, 400, 1));
const shape = { batchSize: 3, seqLen: 12 };

/** One plain optimizer step on one worker; returns the loss. */
function step(model: ModelSegment, optimizer: AdamW, sampler: BatchSampler): number {
  const { batchSize: B, seqLen: T, inputs, targets } = sampler.next();
  zeroGradients(model.parameters);
  const loss = model.forward(0, { B, T, tokens: inputs, targets }) as number;
  model.backward(0, 1);
  sumTiedGradients(findTiedParameters(model.parameters));
  optimizer.update(3e-3);
  return loss;
}

for (const tied of [true, false]) {
  test(`a ${tied ? 'tied' : 'untied'} run resumed from a checkpoint continues bit for bit like the uninterrupted run`, () => {
    const config: GPTConfig = { vocabSize: tokenizer.vocabSize, blockSize: 16, layers: 2, embd: 16, heads: 2, tied };
    const model = buildSegment(config, 5);
    const optimizer = new AdamW(model.parameters);
    const sampler = new BatchSampler(tokens, shape, 9);
    for (let i = 0; i < 3; i++) step(model, optimizer, sampler);
    const checkpointDir = join(dir, String(tied));
    saveCheckpoint(checkpointDir, { config, parameters: model.parameters, tokenizer, training: { optimizer: optimizer.exportState(), samplerPosition: sampler.position } });
    const uninterrupted = [0, 1, 2].map(() => step(model, optimizer, sampler));

    const restarted = buildSegment(config, 77); // different init: everything must come from the checkpoint
    const resumed = resumeTraining(checkpointDir, restarted.parameters);
    const restartedOptimizer = new AdamW(restarted.parameters);
    restartedOptimizer.importState(resumed.optimizer);
    const restartedSampler = new BatchSampler(tokens, shape, 9, resumed.samplerPosition);
    assert.equal(restartedOptimizer.step, 3);
    const continued = [0, 1, 2].map(() => step(restarted, restartedOptimizer, restartedSampler));

    assert.ok(uninterrupted.every((loss) => Number.isFinite(loss) && loss > 0));
    assert.deepEqual(continued, uninterrupted);
    restarted.parameters.forEach((parameter, p) => assert.deepEqual(parameter.data, model.parameters[p]!.data, parameter.name));
  });
}

test('the accuracy wiring of docs/data.md runs the real model batched, the same as one prompt at a time', () => {
  const data = additionTrainingData(3, { digits: 3 }, 300);
  const { task, problems } = data.addition!;
  const config: GPTConfig = { vocabSize: data.tokenizer.vocabSize, blockSize: 16, layers: 1, embd: 16, heads: 2, tied: true };
  const model = buildSegment(config, 2);
  for (const { data: values } of model.parameters) for (let i = 0; i < values.length; i++) values[i] = Math.sin(i * 12.9898 + values.length) * 0.3;
  const scores = (contexts: Int32Array, rows: number, length: number) =>
    lastPosition(model.probabilities({ B: rows, T: length, tokens: contexts }), rows, length, data.tokenizer.vocabSize);
  const batched = additionAccuracy(task, problems.slice(0, 20), scores);
  const oneByOne = problems.slice(0, 20).reduce((correct, problem) => correct + additionAccuracy(task, [problem], scores).correct, 0);
  assert.equal(batched.correct, oneByOne);
  assert.equal(batched.total, 20);
});
