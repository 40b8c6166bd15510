import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import { unitCount, validateConfig } from '../../src/nn/config.js';
import type { GPTConfig, Parameter } from '../../src/nn/parameter.js';
import { buildSegment } from '../../src/nn/segment.js';
import { addTiedGradient, findTiedParameters, sumTiedGradients } from '../../src/nn/tied.js';
import { buildUnits } from '../../src/nn/units/build.js';
import type { MicroBatch } from '../../src/nn/units/unit.js';
import { assertBitwiseEqual, assertClose, maxAbs, numericGradient } from '../tensor/ops/helpers.js';
import { perturbParameters, randomBatch, smallConfig } from './fixtures.js';
import { referenceLoss, referenceParameters } from './reference-gpt.js';

const B = 2;
const T = 5;

function byName(parameters: readonly Parameter[]): Map<string, Parameter[]> {
  const map = new Map<string, Parameter[]>();
  for (const parameter of parameters) map.set(parameter.name, [...(map.get(parameter.name) ?? []), parameter]);
  return map;
}

test('whole model, tied and untied: loss matches the float64 GPT-2 and every gradient matches finite differences', () => {
  for (const tied of [true, false]) {
    const config: GPTConfig = { ...smallConfig, tied };
    const segment = buildSegment(config, 7);
    perturbParameters(segment.parameters, 3);
    const batch = randomBatch(B, T, config.vocabSize, 4);
    const loss = segment.forward(0, batch) as number;
    const params = referenceParameters(segment.parameters);
    const reference = () => referenceLoss(params, batch.tokens, batch.targets, B, T, config);
    assertClose([loss], [reference()], 'loss', { abs: 1e-6, rel: 1e-6 });
    assert.equal(segment.backward(0, 1), null);
    sumTiedGradients(findTiedParameters(segment.parameters));
    for (const [name, copies] of byName(segment.parameters)) {
      assert.equal(copies.length, tied && name === 'wte.weight' ? 2 : 1, `copies of ${name}`);
      const expected = numericGradient(reference, params.get(name)!);
      for (const copy of copies) {
        assertClose(copy.grad, expected, `${tied ? 'tied' : 'untied'} ${name}`, { abs: 1e-5 * (1e-3 + maxAbs(expected)), rel: 1e-5 });
      }
    }
  }
});

test('loss at initialisation is close to ln(V)', () => {
  const config: GPTConfig = { vocabSize: 65, blockSize: 16, layers: 2, embd: 32, heads: 4, tied: true };
  const loss = buildSegment(config, 1).forward(null, randomBatch(4, 16, 65, 2)) as number;
  assert.ok(Math.abs(loss - Math.log(65)) < 0.05, `loss ${loss} vs ln 65 = ${Math.log(65)}`);
});

test('parameters are named and shaped exactly as Hugging Face GPT-2, lm_head only when untied', () => {
  const { vocabSize: V, blockSize, embd: C } = smallConfig;
  const block = (n: number) => [
    [`h.${n}.ln_1.weight`, [C]], [`h.${n}.ln_1.bias`, [C]],
    [`h.${n}.attn.c_attn.weight`, [C, 3 * C]], [`h.${n}.attn.c_attn.bias`, [3 * C]],
    [`h.${n}.attn.c_proj.weight`, [C, C]], [`h.${n}.attn.c_proj.bias`, [C]],
    [`h.${n}.ln_2.weight`, [C]], [`h.${n}.ln_2.bias`, [C]],
    [`h.${n}.mlp.c_fc.weight`, [C, 4 * C]], [`h.${n}.mlp.c_fc.bias`, [4 * C]],
    [`h.${n}.mlp.c_proj.weight`, [4 * C, C]], [`h.${n}.mlp.c_proj.bias`, [C]],
  ];
  for (const tied of [true, false]) {
    const units = buildUnits({ ...smallConfig, tied }, 1);
    assert.deepEqual(units.map((unit) => unit.name), ['embedding', 'h.0', 'h.1', 'head']);
    const expected = [
      ['wte.weight', [V, C]], ['wpe.weight', [blockSize, C]], ...block(0), ...block(1),
      ['ln_f.weight', [C]], ['ln_f.bias', [C]], [tied ? 'wte.weight' : 'lm_head.weight', [V, C]],
    ];
    const actual = units.flatMap((unit) => unit.parameters.map((p) => [p.name, p.shape]));
    assert.deepEqual(actual, expected);
  }
});

test('initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2L), biases 0, LayerNorm 1, tied copies equal', () => {
  const config: GPTConfig = { vocabSize: 50, blockSize: 32, layers: 3, embd: 64, heads: 4, tied: true };
  const parameters = buildUnits(config, 11).flatMap((unit) => unit.parameters);
  const stats = (data: Float32Array) => {
    let sum = 0;
    let squares = 0;
    for (const value of data) {
      sum += value;
      squares += value * value;
    }
    const mean = sum / data.length;
    return { mean, std: Math.sqrt(squares / data.length - mean * mean) };
  };
  for (const parameter of parameters) {
    const { mean, std } = stats(parameter.data);
    if (parameter.name.endsWith('bias')) assert.ok(parameter.data.every((v) => v === 0), parameter.name);
    else if (/ln_\d|ln_f/.test(parameter.name)) assert.ok(parameter.data.every((v) => v === 1), parameter.name);
    else {
      const expectedStd = parameter.name.endsWith('c_proj.weight') ? 0.02 / Math.sqrt(2 * config.layers) : 0.02;
      const n = parameter.data.length;
      assert.ok(Math.abs(std / expectedStd - 1) < 6 / Math.sqrt(2 * n), `${parameter.name} std ${std} vs ${expectedStd}`);
      assert.ok(Math.abs(mean) < (6 * expectedStd) / Math.sqrt(n), `${parameter.name} mean ${mean}`);
    }
  }
  const [embeddingCopy, headCopy] = findTiedParameters(parameters)[0]!;
  assertBitwiseEqual(headCopy!.data, embeddingCopy!.data, 'tied wte copies');
  assert.notDeepEqual(buildUnits(config, 12)[0]!.parameters[0]!.data, embeddingCopy!.data, 'another seed, other values');
});

/** Forward and backward through consecutive segments [0,cut) and [cut,end), passing copies as a pipeline would. */
function runSplit(config: GPTConfig, cut: number, batch: MicroBatch) {
  const first = buildSegment(config, 5, [0, cut]);
  const second = buildSegment(config, 5, [cut, unitCount(config)]);
  perturbParameters([...first.parameters, ...second.parameters], 9);
  const activation = (first.forward(0, batch) as Float32Array).slice();
  const loss = second.forward(0, batch, activation) as number;
  const gradient = (second.backward(0, 1) as Float32Array).slice();
  first.backward(0, gradient);
  // Tied copies on two "ranks": each adds the other's gradient into its own.
  const [embeddingCopy] = first.parameters.filter((p) => p.name === 'wte.weight');
  const [headCopy] = second.parameters.filter((p) => p.name === 'wte.weight');
  if (embeddingCopy !== undefined && headCopy !== undefined) {
    const sent = embeddingCopy.grad.slice();
    addTiedGradient(embeddingCopy.grad, headCopy.grad);
    addTiedGradient(headCopy.grad, sent);
  }
  return { loss, parameters: [...first.parameters, ...second.parameters] };
}

test('units built in two ranges hold the same parameters and give bitwise the same loss and gradients as the whole model', () => {
  const config = smallConfig;
  const batch = randomBatch(B, T, config.vocabSize, 6);
  const whole = buildSegment(config, 5);
  perturbParameters(whole.parameters, 9);
  const wholeLoss = whole.forward(0, batch) as number;
  whole.backward(0, 1);
  sumTiedGradients(findTiedParameters(whole.parameters));
  const fresh = byName(buildUnits(config, 5).flatMap((unit) => unit.parameters));
  for (let cut = 1; cut < unitCount(config); cut++) {
    const units = buildUnits(config, 5, [0, cut]).concat(buildUnits(config, 5, [cut, unitCount(config)]));
    for (const parameter of units.flatMap((unit) => unit.parameters)) {
      assertBitwiseEqual(parameter.data, fresh.get(parameter.name)![0]!.data, `cut ${cut} init ${parameter.name}`);
    }
    const split = runSplit(config, cut, batch);
    assert.equal(split.loss, wholeLoss, `cut ${cut} loss`);
    const wholeByName = byName(whole.parameters);
    for (const parameter of split.parameters) {
      for (const copy of wholeByName.get(parameter.name)!) {
        assertBitwiseEqual(parameter.grad, copy.grad, `cut ${cut} grad ${parameter.name}`);
      }
    }
  }
});

/** Two micro-batches in flight in a zero-bubble-like order (F F I I W W) or one after the other (F B F B). */
function runSegment(range: [number, number] | undefined, recompute: boolean, order: 'interleaved' | 'sequential') {
  const config = smallConfig;
  const segment = buildSegment(config, 5, range);
  segment.recompute = recompute;
  perturbParameters(segment.parameters, 9);
  const batches = [randomBatch(B, T, config.vocabSize, 1), randomBatch(B, T, config.vocabSize, 2)];
  const C = config.embd;
  const inputs = [0, 1].map((slot) => Float32Array.from({ length: B * T * C }, (_, i) => Math.sin(i + slot)));
  const input = (slot: number) => (segment.takesTokens ? null : inputs[slot]!);
  const gradOutput = (slot: number) =>
    segment.computesLoss ? 0.5 : Float32Array.from({ length: B * T * C }, (_, i) => Math.cos(i * (slot + 2)));
  const outputs: (Float32Array | number | null)[] = [];
  const keep = (value: Float32Array | number | null) => outputs.push(value instanceof Float32Array ? value.slice() : value);
  let peak = 0;
  const sample = () => (peak = Math.max(peak, segment.liveStashBytes()));
  if (order === 'interleaved') {
    keep(segment.forward(0, batches[0]!, input(0)));
    sample();
    keep(segment.forward(1, batches[1]!, input(1)));
    sample();
    keep(segment.backwardInput(1, gradOutput(1)));
    sample();
    keep(segment.backwardInput(0, gradOutput(0)));
    sample();
    segment.backwardWeight(0);
    segment.backwardWeight(1);
  } else {
    for (const slot of [0, 1]) {
      keep(segment.forward(slot, batches[slot]!, input(slot)));
      sample();
      keep(segment.backward(slot, gradOutput(slot)));
    }
  }
  assert.equal(segment.liveStashBytes(), 0);
  return { segment, outputs, peak, grads: segment.parameters.map((p) => p.grad) };
}

test('recomputation gives bitwise the same outputs and gradients as stashing, for any range, and holds less', () => {
  const ranges: ([number, number] | undefined)[] = [undefined, [0, 2], [1, 3], [2, 4], [3, 4]];
  for (const range of ranges) {
    for (const order of ['interleaved', 'sequential'] as const) {
      const stashed = runSegment(range, false, order);
      const recomputed = runSegment(range, true, order);
      const what = `range ${range ?? 'all'} ${order}`;
      stashed.outputs.forEach((value, i) => {
        const other = recomputed.outputs[i];
        if (value instanceof Float32Array) assertBitwiseEqual(other as Float32Array, value, `${what} output ${i}`);
        else assert.equal(other, value, `${what} output ${i}`);
      });
      stashed.grads.forEach((grad, p) => assertBitwiseEqual(recomputed.grads[p]!, grad, `${what} grad ${p}`));
      if (order === 'interleaved') {
        const perSlot = stashed.segment.stashBytesPerSlot(B, T, false);
        const perSlotRecomputed = stashed.segment.stashBytesPerSlot(B, T, true);
        assert.ok(perSlotRecomputed.forward < perSlot.forward, `${what}: recompute keeps less between F and I`);
        // Sampled after F0, F1, I1, I0: two forward stashes, one of each, then two weight stashes.
        const peak = ({ forward, weight }: { forward: number; weight: number }) => Math.max(2 * forward, forward + weight, 2 * weight);
        assert.equal(perSlotRecomputed.weight, perSlot.weight);
        assert.equal(stashed.peak, peak(perSlot), `${what} stashed peak`);
        assert.equal(recomputed.peak, peak(perSlotRecomputed), `${what} recomputed peak`);
      }
    }
  }
});

test('two micro-batches of B/2 with loss scale 1/2 give the gradients of one batch of B', () => {
  const config = smallConfig;
  const batch = randomBatch(4, T, config.vocabSize, 8);
  const half = (part: number): MicroBatch => ({
    B: 2,
    T,
    tokens: batch.tokens.subarray(part * 2 * T, (part + 1) * 2 * T),
    targets: batch.targets.subarray(part * 2 * T, (part + 1) * 2 * T),
  });
  const one = buildSegment(config, 5);
  const loss = one.forward(0, batch) as number;
  one.backward(0, 1);
  const two = buildSegment(config, 5);
  let meanLoss = 0;
  for (const part of [0, 1]) {
    meanLoss += (two.forward(part, half(part)) as number) / 2;
    two.backward(part, 1 / 2);
  }
  assertClose([meanLoss], [loss], 'loss', { abs: 1e-12, rel: 1e-12 });
  one.parameters.forEach((parameter, p) => {
    const scale = maxAbs(parameter.grad);
    assertClose(two.parameters[p]!.grad, parameter.grad, parameter.name, { abs: 1e-6 * scale, rel: 1e-5 });
  });
});

test('next-token probabilities are a distribution whose -log at the targets averages to the loss', () => {
  const config = smallConfig;
  const segment = buildSegment(config, 5);
  perturbParameters(segment.parameters, 2);
  const batch = randomBatch(B, T, config.vocabSize, 3);
  const probabilities = segment.probabilities(batch);
  const V = config.vocabSize;
  assert.equal(probabilities.length, B * T * V);
  let logLoss = 0;
  for (let n = 0; n < B * T; n++) {
    let total = 0;
    for (let v = 0; v < V; v++) total += probabilities[n * V + v]!;
    assertClose([total], [1], `row ${n}`, { abs: 1e-6 });
    logLoss -= Math.log(probabilities[n * V + batch.targets[n]!]!) / (B * T);
  }
  assertClose([logLoss], [segment.forward(null, batch) as number], 'loss', { abs: 1e-5, rel: 1e-5 });
  assert.equal(segment.liveStashBytes(), 0);
});

test('bad configurations, ranges, seeds and sequences are one-line usage errors', () => {
  const usage = (run: () => unknown, pattern: RegExp) =>
    assert.throws(run, (error: unknown) => error instanceof UsageError && pattern.test(error.message) && !error.message.includes('\n'));
  usage(() => validateConfig({ ...smallConfig, heads: 3 }), /embedding width 8 must be divisible by the number of heads 3/);
  usage(() => validateConfig({ ...smallConfig, layers: 0 }), /number of layers must be a positive integer, got 0/);
  usage(() => buildUnits(smallConfig, 1, [2, 2]), /unit range \[2, 2\) must be a non-empty part of \[0, 4\)/);
  usage(() => buildUnits(smallConfig, 1, [0, 5]), /\[0, 4\)/);
  usage(() => buildUnits(smallConfig, -1), /seed must be a non-negative integer/);
  usage(() => buildSegment(smallConfig, 1).forward(0, randomBatch(1, 9, 11, 1)), /sequence length 9 exceeds the model's block size 8/);
  const batch = randomBatch(1, 4, 11, 1);
  batch.targets[2] = 11;
  usage(() => buildSegment(smallConfig, 1).forward(0, batch), /target id 11 at position 2 is outside the vocabulary \[0, 11\)/);
});
