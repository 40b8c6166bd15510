import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUnits } from '../../src/nn/units/build.js';
import type { Unit } from '../../src/nn/units/unit.js';
import type { GPTConfig } from '../../src/nn/parameter.js';
import {
  assertBitwiseEqual,
  assertClose,
  dot,
  maxAbs,
  numericGradient,
  randomArray,
} from '../tensor/ops/helpers.js';
import { perturbParameters, randomActivation, randomBatch, smallConfig } from './fixtures.js';
import { referenceBlock, referenceEmbed, referenceHeadLoss, referenceParameters } from './reference-gpt.js';

const config: GPTConfig = smallConfig;
const B = 2;
const T = 5;
const C = config.embd;
const HEAD = config.layers + 1;

function unitAt(index: number, seed = 3): Unit {
  const [unit] = buildUnits(config, seed, [index, index + 1]);
  perturbParameters(unit!.parameters, 17);
  return unit!;
}

/** Checks every parameter's gradient (and dX when given) against central differences of `loss`. */
function checkGradients(unit: Unit, loss: (params: Map<string, Float64Array>) => number, dX?: { actual: Float32Array; x: Float64Array }) {
  const params = referenceParameters(unit.parameters);
  for (const parameter of unit.parameters) {
    const expected = numericGradient(() => loss(params), params.get(parameter.name)!);
    assertClose(parameter.grad, expected, parameter.name, { abs: 1e-5 * (1e-3 + maxAbs(expected)), rel: 1e-5 });
  }
  if (dX !== undefined) {
    const expected = numericGradient(() => loss(params), dX.x);
    assertClose(dX.actual, expected, 'dX', { abs: 1e-5 * (1e-3 + maxAbs(expected)), rel: 1e-5 });
  }
}

test('block unit: forward matches the float64 block and every gradient matches finite differences', () => {
  const unit = unitAt(1);
  const x = randomActivation(B, T, C, 5);
  const dOut = randomArray(B * T * C, 6);
  const batch = { B, T };
  const out = unit.forward(0, batch, x) as Float32Array;
  const params = referenceParameters(unit.parameters);
  assertClose(out, referenceBlock(params, 0, x, B, T, config), 'out', { abs: 1e-5, rel: 1e-5 });
  const dX = unit.backward(0, dOut)!.slice();
  const x64 = Float64Array.from(x);
  checkGradients(unit, (p) => dot(dOut, referenceBlock(p, 0, x64, B, T, config)), { actual: dX, x: x64 });
});

test('head unit: loss matches the float64 head and gradients (scaled by the loss scale) match finite differences', () => {
  for (const tied of [true, false]) {
    const headConfig = { ...config, tied };
    const [unit] = buildUnits(headConfig, 3, [HEAD, HEAD + 1]);
    perturbParameters(unit!.parameters, 17);
    const x = randomActivation(B, T, C, 5);
    const { targets } = randomBatch(B, T, config.vocabSize, 8);
    const lossScale = 0.5;
    const loss = unit!.forward(0, { B, T, targets }, x) as number;
    const params = referenceParameters(unit!.parameters);
    assertClose([loss], [referenceHeadLoss(params, x, targets, B * T, headConfig)], 'loss', { abs: 1e-6, rel: 1e-6 });
    const dX = unit!.backward(0, lossScale)!.slice();
    const x64 = Float64Array.from(x);
    checkGradients(unit!, (p) => lossScale * referenceHeadLoss(p, x64, targets, B * T, headConfig), { actual: dX, x: x64 });
  }
});

test('embedding unit: output matches the float64 lookup; its W step is the scatter-add of the output gradient', () => {
  const unit = unitAt(0);
  const { tokens } = randomBatch(B, T, config.vocabSize, 9);
  const dOut = randomArray(B * T * C, 6);
  const out = unit.forward(0, { B, T, tokens }, null) as Float32Array;
  const params = referenceParameters(unit.parameters);
  assertClose(out, referenceEmbed(params, tokens, B, T, config), 'out', { abs: 1e-7 });
  assert.equal(unit.backward(0, dOut), null);
  checkGradients(unit, (p) => dot(dOut, referenceEmbed(p, tokens, B, T, config)));
});

/** Runs F for two slots, then the backward as `order` says; returns the dX per slot and every gradient. */
function runTwoSlots(index: number, order: 'full' | 'split' | 'interleaved') {
  const unit = unitAt(index);
  const batches = [randomBatch(B, T, config.vocabSize, 20), randomBatch(B, T, config.vocabSize, 21)];
  const inputs = [randomActivation(B, T, C, 22), randomActivation(B, T, C, 23)];
  const gradOutput = (slot: number) => (index === HEAD ? 0.5 : randomArray(B * T * C, 30 + slot));
  const dX: (Float32Array | null)[] = [null, null];
  const copy = (g: Float32Array | null) => (g === null ? null : g.slice());
  if (order === 'interleaved') {
    // Both in flight, I in reverse order, W deferred: a zero-bubble-like pattern.
    unit.forward(0, batches[0]!, index === 0 ? null : inputs[0]!);
    unit.forward(1, batches[1]!, index === 0 ? null : inputs[1]!);
    dX[1] = copy(unit.backwardInput(1, gradOutput(1)));
    dX[0] = copy(unit.backwardInput(0, gradOutput(0)));
    unit.backwardWeight(0);
    unit.backwardWeight(1);
  } else {
    for (const slot of [0, 1]) {
      unit.forward(slot, batches[slot]!, index === 0 ? null : inputs[slot]!);
      if (order === 'full') {
        dX[slot] = copy(unit.backward(slot, gradOutput(slot)));
      } else {
        dX[slot] = copy(unit.backwardInput(slot, gradOutput(slot)));
        unit.backwardWeight(slot);
      }
    }
  }
  assert.equal(unit.liveStashBytes(), 0, 'every slot is freed by its W');
  return { dX, grads: unit.parameters.map((parameter) => parameter.grad) };
}

test('every unit: I then W is bitwise B, and slots in flight together do not disturb each other', () => {
  for (const index of [0, 1, HEAD]) {
    const full = runTwoSlots(index, 'full');
    for (const order of ['split', 'interleaved'] as const) {
      const other = runTwoSlots(index, order);
      for (const slot of [0, 1]) {
        if (full.dX[slot] === null) assert.equal(other.dX[slot], null);
        else assertBitwiseEqual(other.dX[slot]!, full.dX[slot]!, `unit ${index} ${order} dX slot ${slot}`);
      }
      full.grads.forEach((grad, p) => assertBitwiseEqual(other.grads[p]!, grad, `unit ${index} ${order} grad ${p}`));
    }
  }
});

test('stash accounting: live bytes follow F, I and W per slot and match the per-slot report', () => {
  const unit = unitAt(1);
  const bytes = unit.stashBytes(B, T);
  assert.ok(bytes.forward > 0 && bytes.weight > 0);
  unit.forward(0, { B, T }, randomActivation(B, T, C, 1));
  unit.forward(1, { B, T }, randomActivation(B, T, C, 2));
  assert.equal(unit.liveStashBytes(), 2 * bytes.forward);
  unit.backwardInput(0, randomArray(B * T * C, 3));
  assert.equal(unit.liveStashBytes(), bytes.forward + bytes.weight);
  unit.backwardWeight(0);
  assert.equal(unit.liveStashBytes(), bytes.forward);
  unit.release(1);
  assert.equal(unit.liveStashBytes(), 0);
  unit.forward(null, { B, T }, randomActivation(B, T, C, 1));
  assert.equal(unit.liveStashBytes(), 0, 'a transient forward keeps nothing');
});

test('slot misuse is caught: a second forward into a busy slot, a backward with no forward', () => {
  const unit = unitAt(1);
  unit.forward(4, { B, T }, randomActivation(B, T, C, 1));
  assert.throws(() => unit.forward(4, { B, T }, randomActivation(B, T, C, 1)), /slot 4 already holds/);
  assert.throws(() => unit.backwardInput(5, randomArray(B * T * C, 1)), /slot 5 holds no/);
  assert.throws(() => unit.forward(0, { B, T }, new Float32Array(3)), /input \[B,T,C\] has 3 elements/);
});

test('a smaller micro-batch reuses the stash buffers; the output has exactly [B,T,C] elements', () => {
  const unit = unitAt(1);
  const big = unit.forward(0, { B: 2, T: 5 }, randomActivation(2, 5, C, 1)) as Float32Array;
  assert.equal(big.length, 2 * 5 * C);
  unit.release(0);
  const allocated = unit.liveStashBytes();
  const small = unit.forward(0, { B: 1, T: 3 }, randomActivation(1, 3, C, 1)) as Float32Array;
  assert.equal(small.length, 1 * 3 * C);
  assert.equal(allocated, 0);
  assert.equal(unit.liveStashBytes(), unit.stashBytes(2, 5).forward, 'the record allocated for [2,5] serves [1,3]');
});
