/**
 * Data × pipeline parallelism: D replicas of a P-rank pipeline, each taking 1/D of every batch and reducing
 * each stage's gradients across replicas, train what one worker trains on the whole batch: the losses within
 * 1e-6 relative at every step (bit for bit at the first). Not the same bits after it: a replica sums its own
 * micro-batches' gradients and the ring then sums the replicas, one worker keeps one running sum; AdamW's
 * m/√v turns that rounding into whole ±lr steps where a gradient is nearly zero (the attention key bias, whose
 * exact gradient is 0), so parameters are compared by the losses they give.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSchedule, type ScheduleName } from '../../src/schedule/index.js';
import { runTraining, type RunResult } from '../../src/runtime/train.js';
import { tinyConfig, tinyCorpus, tinyOptions } from './helpers.js';

async function train(schedule: ScheduleName, stages: number, replicas: number, flags: Record<string, unknown>): Promise<RunResult> {
  const options = tinyOptions({ stages: String(stages), replicas: String(replicas), schedule, ...flags });
  const generated = generateSchedule(schedule, { ranks: stages, microbatches: options.microbatches, ...(options.chunks ? { chunks: options.chunks } : {}) });
  return runTraining({ options, config: tinyConfig(options), schedule: generated, corpus: tinyCorpus(options), start: { step: 0 } });
}

const layouts: { schedule: ScheduleName; stages: number; replicas: number; flags: Record<string, unknown> }[] = [
  // the tied ends on two ranks: each end reduces, then the ends exchange
  { schedule: '1f1b', stages: 2, replicas: 2, flags: { batchSize: '8', microbatches: '2' } },
  // pure data parallelism: one stage holds both tied copies
  { schedule: '1f1b', stages: 1, replicas: 2, flags: { batchSize: '8', microbatches: '2' } },
  // an odd ring, untied
  { schedule: 'gpipe', stages: 2, replicas: 3, flags: { batchSize: '12', microbatches: '2', untied: true } },
  // the V: both tied ends on rank 0, the backward split into I and W
  { schedule: 'zb-v', stages: 2, replicas: 2, flags: { batchSize: '16', microbatches: '4', chunks: '2' } },
  // two chunks per rank, recomputed
  { schedule: 'interleaved-1f1b', stages: 2, replicas: 2, flags: { batchSize: '8', microbatches: '2', chunks: '2', recompute: true } },
];

for (const { schedule, stages, replicas, flags } of layouts) {
  test(`${replicas} replicas of ${schedule} on ${stages} stage rank(s) train like one worker on the whole batch (${JSON.stringify(flags)})`, async () => {
    const run = await train(schedule, stages, replicas, flags);
    // one worker, the same batch cut into the same micro-batches: replica r's micro-batch m is its micro-batch rM + m
    const microbatches = String(Number(flags.microbatches) * replicas);
    const single = await train('1f1b', 1, 1, { ...flags, microbatches, chunks: undefined });
    const label = `${replicas} × ${schedule} on ${stages}`;
    assert.equal(run.steps.length, single.steps.length);
    run.steps.forEach((step, i) => {
      const reference = single.steps[i]!.loss;
      assert.ok(Math.abs(step.loss - reference) <= 1e-6 * reference, `${label}: step ${step.step} loss ${step.loss} vs ${reference}`);
    });
    assert.equal(run.steps[0]!.loss, single.steps[0]!.loss, 'the first step sees the same micro-batches through the same model: the same loss, bit for bit');
    assert.equal(run.replicas, replicas);
    assert.equal(run.hosts.length, stages * replicas);
    assert.ok(Math.abs(run.valLoss - single.valLoss) <= 1e-6 * single.valLoss, `validation ${run.valLoss} vs ${single.valLoss}`);
  });
}

test('the batch must split evenly over replicas and micro-batches', () => {
  assert.throws(() => tinyOptions({ batchSize: '8', microbatches: '4', replicas: '3' }), /--batch-size 8 is not divisible by --microbatches 4 × --replicas 3 = 12: each replica takes 1\/3 of the batch in 4 micro-batches; use a multiple of 12/);
});
