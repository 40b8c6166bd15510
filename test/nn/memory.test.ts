/**
 * The byte count of nn/memory.ts against what the kernel-memory allocator really hands out when the units run
 * the actions a schedule gives them (the allocator never gives memory back, so the delta is everything).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildSegment, type GPTConfig } from '../../src/nn/index.js';
import {
  inferenceBufferBytes, kernelBytes, parameterBytes, stashRecords, trainingBufferBytes, addBytes,
} from '../../src/nn/memory.js';
import { generateSchedule, parseSchedule, scheduleNames, type Schedule } from '../../src/schedule/index.js';
import { matmul } from '../../src/tensor/matmul.js';
import { kernelBytesInUse } from '../../src/tensor/index.js';

// The GEMM's scratch is taken once per thread; take it now so the deltas below hold only what units allocate.
matmul(new Float32Array(1), new Float32Array(1), new Float32Array(1), 1, 1, 1);

/** Kernel bytes allocated while `work` runs. */
function allocatedBy(work: () => void): number {
  const before = kernelBytesInUse();
  work();
  return kernelBytesInUse() - before;
}

/** Runs one stage's actions from the rank's order with stand-in inputs: memory depends on the calls, not the values. */
function runStage(schedule: Schedule, stage: number, config: GPTConfig, range: [number, number], B: number, T: number, recompute: boolean): void {
  const segment = buildSegment(config, 1, range);
  segment.recompute = recompute;
  const N = B * T;
  const tokens = Int32Array.from({ length: N }, (_, i) => i % config.vocabSize);
  const batch = { B, T, tokens, targets: tokens };
  const activation = () => new Float32Array(N * config.embd).fill(0.01);
  const gradient = (): Float32Array | number => (segment.computesLoss ? 1 : activation());
  for (const { kind, stage: owner, microbatch } of schedule.order[schedule.placement[stage]!]!) {
    if (owner !== stage) continue;
    if (kind === 'F') segment.forward(microbatch, batch, segment.takesTokens ? null : activation());
    else if (kind === 'B') segment.backward(microbatch, gradient());
    else if (kind === 'I') segment.backwardInput(microbatch, gradient());
    else segment.backwardWeight(microbatch);
  }
  segment.forward(null, batch, segment.takesTokens ? null : activation()); // the evaluation after training
}

/** Contiguous unit ranges, one per stage, as even as the units allow. */
function evenRanges(units: number, stages: number): [number, number][] {
  return Array.from({ length: stages }, (_, stage) => [Math.floor((stage * units) / stages), Math.floor(((stage + 1) * units) / stages)]);
}

const model = fc
  .record({
    heads: fc.integer({ min: 1, max: 2 }),
    headSize: fc.integer({ min: 1, max: 4 }),
    layers: fc.integer({ min: 1, max: 4 }),
    vocabSize: fc.integer({ min: 2, max: 9 }),
    blockSize: fc.integer({ min: 2, max: 6 }),
    tied: fc.boolean(),
  })
  .map(({ heads, headSize, ...rest }) => ({ ...rest, heads, embd: heads * headSize }) as GPTConfig);

test('a stage allocates exactly the bytes counted from the layouts and the schedule (every schedule, with and without recomputation)', () => {
  fc.assert(
    fc.property(
      model,
      fc.constantFrom(...scheduleNames),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 3 }),
      fc.boolean(),
      (config, name, ranks, microbatchesWanted, B, recompute) => {
        const chunks = name === 'interleaved-1f1b' || name === 'zb-v' ? 2 : 1;
        const microbatches = name === 'interleaved-1f1b' ? ranks * microbatchesWanted : microbatchesWanted;
        if (ranks * chunks > config.layers + 2) return; // more stages than units
        const schedule = generateSchedule(name, { ranks, microbatches, chunks });
        const T = config.blockSize;
        evenRanges(config.layers + 2, schedule.stages).forEach((range, stage) => {
          const records = stashRecords(schedule.order[schedule.placement[stage]!]!, stage, recompute);
          const counted = addBytes(parameterBytes(config, range, false), trainingBufferBytes(config, range, B, T, records));
          const allocated = allocatedBy(() => runStage(schedule, stage, config, range, B, T, recompute));
          assert.equal(allocated, kernelBytes(counted), `${name} stage ${stage} of ${schedule.stages}`);
        });
      },
    ),
    { numRuns: 60 },
  );
});

test('under recomputation a forward between an I and its W takes one more weight-stash record (a hand-written order)', () => {
  const config: GPTConfig = { vocabSize: 5, blockSize: 4, layers: 1, embd: 4, heads: 2, tied: true };
  const schedule = parseSchedule('rank 0: 0F0 0I0 0F1 0W0 0I1 0W1', 'by hand');
  const records = stashRecords(schedule.order[0]!, 0, true);
  assert.deepEqual(records, { 'F→I': 1, 'F→W': 2, 'I→W': 1, 'kept inputs': 1 });
  const counted = addBytes(parameterBytes(config, [0, 3], false), trainingBufferBytes(config, [0, 3], 2, 4, records));
  assert.equal(allocatedBy(() => runStage(schedule, 0, config, [0, 3], 2, 4, true)), kernelBytes(counted));
});

test('inference allocates what is counted for its shapes, growing buffers as sampling lengthens the context', () => {
  const config: GPTConfig = { vocabSize: 7, blockSize: 12, layers: 2, embd: 8, heads: 2, tied: true };
  const shapes: [number, number][] = [[1, 3], [1, 4], [1, 5], [1, 6], [1, 7], [1, 8], [1, 9], [1, 10], [1, 11], [1, 12], [1, 12]];
  const allocated = allocatedBy(() => {
    const segment = buildSegment(config, 2);
    for (const [B, T] of shapes) segment.probabilities({ B, T, tokens: new Int32Array(B * T) });
  });
  const counted = addBytes(parameterBytes(config, [0, config.layers + 2], false), inferenceBufferBytes(config, shapes));
  assert.equal(allocated, kernelBytes(counted));
});

test('the optimizer\'s moments are counted outside kernel memory, two per parameter value', () => {
  const config: GPTConfig = { vocabSize: 5, blockSize: 4, layers: 1, embd: 4, heads: 1, tied: false };
  const segment = buildSegment(config, 0);
  const values = segment.parameters.reduce((sum, parameter) => sum + parameter.data.length, 0);
  assert.equal(parameterBytes(config, [0, 3], true).other, 2 * 4 * values);
});
