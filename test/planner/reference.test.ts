import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  activationBytesPerLayer, findGpu, layersPerRank, modelFlopsPerStep, modelStateBytes, pipelineShape, recomputeFlopsPerStep,
  searchPlans, stageParameters, type ModelShape, type ParallelPlan,
} from '../../src/planner/index.js';

// The repo's own copy of the published figures (compiled to dist/test/planner/, so three levels up is the repo root).
const reference = JSON.parse(
  readFileSync(new URL('../../../test/planner/reference/published-runs.json', import.meta.url), 'utf8'),
) as {
  narayanan2021_table1: { rows: number[][] };
  korthikanti2022_memory: { rows: (string | number)[][] };
};

const GiB = 2 ** 30;
const gpt = (layers: number, hidden: number, heads: number): ModelShape => ({
  name: `gpt-${layers}x${hidden}`, architecture: 'gpt', layers, hidden, heads, kvHeads: heads, ffnHidden: 4 * hidden,
  seqLength: 2048, vocab: 51200, tiedEmbeddings: true,
});

const within = (actual: number, expected: number, tolerance: number, what: string): void => {
  const error = Math.abs(actual - expected) / expected;
  assert.ok(error <= tolerance, `${what}: predicted ${actual.toFixed(3)}, published ${expected} (${(100 * error).toFixed(2)}% off)`);
};

test('Korthikanti et al. 2022 Figure 1: activation and model-state memory of the first stage within 1%', () => {
  for (const [name, layers, hidden, heads, tp, pp, microBatch, plain, sequenceSelective, states] of reference.korthikanti2022_memory.rows) {
    const model = gpt(layers as number, hidden as number, heads as number);
    const p = pp as number;
    const t = tp as number;
    const b = microBatch as number;
    // The 530B figures hold L·(1 + (p-1)/(p·v)) layers' worth: the interleaved schedule with one layer per chunk.
    const chunks = p > 1 ? model.layers / p : 1;
    const shape = p > 1 ? pipelineShape('interleaved-1f1b', p, 8 * p, chunks) : pipelineShape('1f1b', 1, 1, 1);
    const layersHeld = shape.inFlight[0]! * layersPerRank(model, p).first;
    const plainBytes = layersHeld * activationBytesPerLayer(model, b, t, { sequenceParallel: false, recompute: 'none', flashAttention: false });
    const sequenceSelectiveBytes =
      layersHeld * activationBytesPerLayer(model, b, t, { sequenceParallel: true, recompute: 'selective', flashAttention: false });
    within(plainBytes / GiB, plain as number, 0.01, `${name} activations, tensor parallel only`);
    within(sequenceSelectiveBytes / GiB, sequenceSelective as number, 0.01, `${name} activations, sequence parallel + selective`);
    const parallel = { tp: t, pp: p, dp: 1 } as ParallelPlan;
    const layerStates = modelStateBytes(stageParameters(model, parallel).first.layers, true, 0, 1);
    within((layerStates.weights + layerStates.gradients + layerStates.optimizer) / GiB, states as number, 0.01, `${name} model states`);
  }
});

test('model FLOPs with full recomputation equal Narayanan et al. 2021 eq. (96·B·s·l·h²·(1 + s/6h + V/16lh))', () => {
  for (const [, , hidden, layers] of reference.narayanan2021_table1.rows) {
    const model = gpt(layers!, hidden!, 8);
    const batch = 512;
    const published = 96 * batch * 2048 * layers! * hidden! ** 2 * (1 + 2048 / (6 * hidden!) + 51200 / (16 * layers! * hidden!));
    const ours = modelFlopsPerStep(model, batch) + recomputeFlopsPerStep(model, batch, 'full', false);
    within(ours, published, 1e-9, `${layers} layers × ${hidden}`);
  }
});

test('Narayanan et al. 2021 Table 1: predicted TFLOP/s per GPU within 10% for every row, one A100 model', () => {
  const gpu = findGpu('a100-80gb');
  const lines: string[] = [];
  for (const [paramsB, heads, hidden, layers, tp, pp, gpus, globalBatch, published] of reference.narayanan2021_table1.rows) {
    // As run in 2021: fp16, full recomputation, no sequence parallelism or flash attention, PipeDream-Flush (1F1B),
    // data-parallel all-reduce after the backward; the search picks the micro-batch size.
    const result = searchPlans({
      model: gpt(layers!, hidden!, heads!), gpu, gpus: gpus!, globalBatchSize: globalBatch!, precision: 'fp16',
      tp: [tp!], pp: [pp!], schedules: ['1f1b'], recompute: ['full'], zero: [0], sequenceParallel: false,
      flashAttention: false, overlapGradReduce: false, top: 1,
    });
    const best = result.plans[0];
    assert.ok(best !== undefined, `${paramsB}B: no plan fits`);
    lines.push(`${paramsB}B ${best.tflopsPerGpu.toFixed(1)} vs ${published}`);
    within(best.tflopsPerGpu, published!, 0.1, `${paramsB}B TFLOP/s per GPU`);
  }
  assert.equal(lines.length, 10);
});
