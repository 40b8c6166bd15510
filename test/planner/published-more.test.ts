import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { estimate, jobFromConfig, type Estimate } from '../../src/planner/index.js';

/** One published run: its source, what the source states, what we assumed, its configuration and its figure. */
interface PublishedRun {
  readonly id: string;
  readonly source: string;
  readonly stated: string;
  readonly assumed: string;
  readonly config: unknown;
  readonly published: { readonly tflopsPerGpu?: number; readonly mfu?: number; readonly stepTimeS?: number };
  readonly asserted: boolean;
  readonly reason?: string;
}

// Compiled to dist/test/planner/: the data file stays in the source tree.
const runs = (
  JSON.parse(readFileSync(new URL('../../../test/planner/published-more.json', import.meta.url), 'utf8')) as { runs: PublishedRun[] }
).runs;

/** The published figure and ours: a step time where the source gives one, else TFLOP/s per GPU (with recomputation), else MFU. */
function compare(run: PublishedRun, result: Estimate): { predicted: number; published: number; unit: string } {
  if (run.published.stepTimeS !== undefined) return { predicted: result.stepTimeS, published: run.published.stepTimeS, unit: 'step s' };
  if (run.published.tflopsPerGpu !== undefined) {
    return { predicted: result.tflopsPerGpu, published: run.published.tflopsPerGpu, unit: 'TFLOP/s' };
  }
  assert.ok(run.published.mfu !== undefined, `${run.id}: no tflopsPerGpu or mfu`);
  return { predicted: result.mfu, published: run.published.mfu, unit: 'MFU' };
}

test('every run in published-more.json names its source, what it states and assumes, and parses as an estimate config', () => {
  assert.ok(runs.length >= 30);
  const ids = new Set<string>();
  for (const run of runs) {
    assert.ok(!ids.has(run.id), `duplicate id ${run.id}`);
    ids.add(run.id);
    for (const text of [run.source, run.stated, run.assumed]) assert.ok(text.length > 20, `${run.id}: source, stated and assumed are required`);
    assert.ok(run.asserted || (run.reason !== undefined && run.reason.length > 40), `${run.id}: a run left out says why`);
    assert.doesNotThrow(() => estimate(jobFromConfig(run.config, run.id)), `${run.id} does not estimate`);
  }
});

test('published runs beyond the reference file: every asserted run within 15% of its published throughput', () => {
  const failures: string[] = [];
  let asserted = 0;
  for (const run of runs.filter((candidate) => candidate.asserted)) {
    asserted++;
    const { predicted, published, unit } = compare(run, estimate(jobFromConfig(run.config, run.id)));
    const error = predicted / published - 1;
    if (Math.abs(error) > 0.15) failures.push(`${run.id}: ${unit} predicted ${predicted.toFixed(3)}, published ${published} (${(100 * error).toFixed(1)}%)`);
  }
  assert.ok(asserted >= 20, `only ${asserted} runs asserted`);
  assert.deepEqual(failures, []);
});
