import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import { unitCount } from '../../src/nn/config.js';
import { globalGradientNorm, gradientSquareSums } from '../../src/nn/gradients.js';
import { AdamW, decays } from '../../src/nn/optimizer.js';
import { buildSegment } from '../../src/nn/segment.js';
import { findTiedParameters } from '../../src/nn/tied.js';
import { assertBitwiseEqual } from '../tensor/ops/helpers.js';
import { randomBatch, smallConfig, trainStep } from './fixtures.js';

const batches = [randomBatch(2, 6, smallConfig.vocabSize, 1), randomBatch(2, 6, smallConfig.vocabSize, 2)];

test('weight decay applies to exactly the 2-D weights: wte, wpe, the four matmul weights per block, lm_head', () => {
  const parameters = buildSegment({ ...smallConfig, tied: false }, 1).parameters;
  const decayed = parameters.filter(decays).map((p) => p.name);
  assert.deepEqual(decayed, [
    'wte.weight', 'wpe.weight',
    'h.0.attn.c_attn.weight', 'h.0.attn.c_proj.weight', 'h.0.mlp.c_fc.weight', 'h.0.mlp.c_proj.weight',
    'h.1.attn.c_attn.weight', 'h.1.attn.c_proj.weight', 'h.1.mlp.c_fc.weight', 'h.1.mlp.c_proj.weight',
    'lm_head.weight',
  ]);
});

test('training on a fixed batch drives the loss down, and tied copies stay bitwise equal through every step', () => {
  const segment = buildSegment(smallConfig, 3);
  const optimizer = new AdamW(segment.parameters);
  const [embeddingCopy, headCopy] = findTiedParameters(segment.parameters)[0]!;
  const first = trainStep(segment, optimizer, batches, 1e-2).loss;
  let last = first;
  for (let step = 0; step < 40; step++) {
    last = trainStep(segment, optimizer, batches, 1e-2).loss;
    assertBitwiseEqual(headCopy!.data, embeddingCopy!.data, `tied copies after step ${step}`);
  }
  assert.ok(last < 0.5 * first, `loss ${first} -> ${last}`);
});

test('saving optimizer state by name and restoring it resumes bitwise where an uninterrupted run would be', () => {
  const uninterrupted = buildSegment(smallConfig, 3);
  const optimizer = new AdamW(uninterrupted.parameters);
  for (let step = 0; step < 5; step++) trainStep(uninterrupted, optimizer, batches, 1e-2);

  const before = buildSegment(smallConfig, 3);
  const firstOptimizer = new AdamW(before.parameters);
  for (let step = 0; step < 3; step++) trainStep(before, firstOptimizer, batches, 1e-2);
  const saved = firstOptimizer.exportState();
  // A checkpoint holds each name once: copy values by name into a fresh model and optimizer.
  const savedValues = new Map(before.parameters.map((p) => [p.name, p.data.slice()]));
  const savedMoments = new Map([...saved.moments].map(([name, { m, v }]) => [name, { m: m.slice(), v: v.slice() }]));
  const resumed = buildSegment(smallConfig, 99);
  for (const parameter of resumed.parameters) parameter.data.set(savedValues.get(parameter.name)!);
  const resumedOptimizer = new AdamW(resumed.parameters);
  resumedOptimizer.importState({ step: saved.step, moments: savedMoments });
  assert.equal(resumedOptimizer.step, 3);
  for (let step = 0; step < 2; step++) trainStep(resumed, resumedOptimizer, batches, 1e-2);
  uninterrupted.parameters.forEach((parameter, p) => {
    assertBitwiseEqual(resumed.parameters[p]!.data, parameter.data, parameter.name);
  });
});

test('restoring optimizer state with a missing or mis-sized parameter is a usage error naming it', () => {
  const segment = buildSegment(smallConfig, 3);
  const optimizer = new AdamW(segment.parameters);
  const state = optimizer.exportState();
  const missing = new Map(state.moments);
  missing.delete('h.1.mlp.c_fc.bias');
  assert.throws(() => optimizer.importState({ step: 1, moments: missing }), (error: unknown) => {
    return error instanceof UsageError && /h\.1\.mlp\.c_fc\.bias/.test(error.message);
  });
  const wrong = new Map(state.moments);
  wrong.set('ln_f.weight', { m: new Float32Array(3), v: new Float32Array(3) });
  assert.throws(() => optimizer.importState({ step: 1, moments: wrong }), /ln_f\.weight has 3 and 3 values, expected 8/);
  assert.equal(optimizer.step, 0, 'nothing changed');
});

test('global gradient norm: each name once, float64, and bitwise the same from per-range lists in unit order', () => {
  const whole = buildSegment(smallConfig, 3);
  trainStep(whole, new AdamW(whole.parameters), batches, 0); // fills gradients (tied already summed)
  const sums = gradientSquareSums(whole.parameters);
  let expected = 0;
  const seen = new Set<string>();
  for (const parameter of whole.parameters) {
    if (seen.has(parameter.name)) continue;
    seen.add(parameter.name);
    for (const g of parameter.grad) expected += g * g;
  }
  const norm = globalGradientNorm(sums);
  assert.ok(Math.abs(norm - Math.sqrt(expected)) <= 1e-12 * norm, `${norm} vs ${Math.sqrt(expected)}`);
  // Ranks each report their own parameters; concatenated in unit order, the reduction is identical.
  for (let cut = 1; cut < unitCount(smallConfig); cut++) {
    const first = buildSegment(smallConfig, 3, [0, cut]);
    const second = buildSegment(smallConfig, 3, [cut, unitCount(smallConfig)]);
    const byName = new Map(whole.parameters.map((p) => [p.name, p.grad]));
    for (const parameter of [...first.parameters, ...second.parameters]) parameter.grad.set(byName.get(parameter.name)!);
    const split = globalGradientNorm([...gradientSquareSums(first.parameters), ...gradientSquareSums(second.parameters)]);
    assert.equal(split, norm, `cut ${cut}`);
  }
});
