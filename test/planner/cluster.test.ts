import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { UsageError } from '../../src/errors.js';
import {
  balancedSplit, configOf, estimate, findPreset, jobFromConfig, parseCluster, searchPlans, type Job,
} from '../../src/planner/index.js';

const twoClusters = { groups: [{ name: 'h100s', gpu: 'h100-sxm', gpus: 64 }, { name: 'a100s', gpu: 'a100-80gb', gpus: 64 }], interGroupBandwidthGBs: 12.5 };

test('the speed split is the best min-max split: against every split of a few layers', () => {
  const compositions = (layers: number, ranks: number): number[][] => {
    if (ranks === 1) return [[layers]];
    const all: number[][] = [];
    for (let first = 1; first <= layers - ranks + 1; first++) for (const rest of compositions(layers - first, ranks - 1)) all.push([first, ...rest]);
    return all;
  };
  const cost = (split: readonly number[], seconds: readonly number[], extra: readonly number[]) =>
    Math.max(...split.map((layers, rank) => layers * seconds[rank]! + extra[rank]!));
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 4 }).chain((ranks) => fc.record({
      ranks: fc.constant(ranks), layers: fc.integer({ min: ranks, max: 11 }),
      seconds: fc.array(fc.double({ min: 0.1, max: 5, noNaN: true }), { minLength: ranks, maxLength: ranks }),
      extra: fc.array(fc.double({ min: 0, max: 3, noNaN: true }), { minLength: ranks, maxLength: ranks }),
    })),
    ({ ranks, layers, seconds, extra }) => {
      const split = balancedSplit(layers, seconds, extra);
      assert.equal(split.reduce((a, b) => a + b, 0), layers);
      const best = Math.min(...compositions(layers, ranks).map((candidate) => cost(candidate, seconds, extra)));
      assert.ok(cost(split, seconds, extra) <= best * (1 + 1e-12), `${split} vs best ${best}`);
    },
  ), { numRuns: 200 });
});

test('a cluster file is checked field by field', () => {
  const cases: [unknown, RegExp][] = [
    [{ groups: [] }, /groups/],
    [{ groups: [{ gpu: 'h100-sxm', gpus: 64 }] }, /interGroupBandwidthGBs/],
    [{ ...twoClusters, groups: [twoClusters.groups[0], { ...twoClusters.groups[1], name: 'h100s' }] }, /two groups are named 'h100s'/],
    [{ ...twoClusters, groups: [{ gpu: 'h100-sxm', gpus: 12 }] }, /12 GPUs, not a whole number per node of 8/],
    [{ ...twoClusters, groups: [{ gpu: 'tpu', gpus: 8 }] }, /unknown GPU 'tpu'/],
  ];
  for (const [json, message] of cases) {
    assert.throws(() => parseCluster(json, 'c.json'), (error: unknown) => error instanceof UsageError && message.test(error.message), message.source);
  }
  assert.equal(parseCluster({ ...twoClusters, groups: [{ gpu: 'h100-sxm', gpus: 12, nodes: 3 }] }, 'c.json').groups[0]!.gpu.gpusPerNode, 4);
});

test('stages span the groups: the boundary between them costs its messages over the shared link, each rank its own GPU', () => {
  const file = {
    model: 'llama3-70b', cluster: twoClusters,
    parallel: {
      tp: 8, pp: 16, dp: 1, microBatchSize: 1, globalBatchSize: 64, recompute: 'none', zero: 0,
      // The H100 stages take 8 layers, the A100s 2: the ranks beside the link are the slowest, so the link paces the pipeline.
      stageGroups: [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1], layersPerStage: [8, 8, 8, 8, 8, 8, 8, 8, 2, 2, 2, 2, 2, 2, 2, 2],
    },
  };
  const job = jobFromConfig(file, 'two.json');
  const result = estimate(job);
  const model = findPreset('llama3-70b');
  // Eight GPUs of a stage send their 1/8 of 2·s·b·h bytes at once over 12.5 GB/s at 80% efficiency, plus 50 µs.
  const message = (8 * (2 * model.seqLength * model.hidden) / 8) / (12.5e9 * 0.8) + 50e-6;
  assert.ok(Math.abs(result.boundarySeconds[7]! - message) < 1e-12, `${result.boundarySeconds[7]} vs ${message}`);
  assert.ok(result.boundarySeconds.every((seconds, boundary) => boundary === 7 || seconds < message / 10));
  const faster = estimate({ ...job, cluster: { ...job.cluster!, interGroupBandwidth: 100e9 } });
  assert.ok(faster.stepTimeS < result.stepTimeS);
  // MFU is over every GPU's own peak: 64 × 989 + 64 × 312 TFLOP/s.
  assert.ok(Math.abs(result.mfu * result.stepTimeS * 64 * (989e12 + 312e12) - result.modelFlops) < 1e-6 * result.modelFlops);
  const again = estimate(jobFromConfig(JSON.parse(JSON.stringify(configOf(result.job))), 'again.json'));
  assert.equal(again.stepTimeS, result.stepTimeS);
});

test('the search over two groups keeps t·c·d groups inside a group and gives the slower GPUs fewer layers', () => {
  const cluster = parseCluster(twoClusters, 'two.json');
  const result = searchPlans({ model: findPreset('llama3-70b'), gpu: cluster.groups[0]!.gpu, gpus: 128, cluster, globalBatchSize: 256, top: 5, cp: [1] });
  assert.ok(result.plans.length > 0);
  for (const plan of result.plans) {
    const p = plan.job.parallel;
    const groups = p.stageGroups!;
    assert.deepEqual([...groups].sort((a, b) => a - b), [...groups]); // the pipeline runs through the groups in order
    for (const index of [0, 1]) assert.equal(groups.filter((g) => g === index).length * p.tp * p.dp, 64);
    const split = p.layersPerStage!;
    assert.equal(split.reduce((a, b) => a + b, 0), 80);
    const mean = (group: number) => {
      const ranks = groups.flatMap((g, rank) => (g === group ? [rank] : []));
      return ranks.reduce((sum, rank) => sum + split[rank]!, 0) / ranks.length;
    };
    assert.ok(mean(1) < mean(0), `a100 stages ${mean(1)} layers, h100 stages ${mean(0)}`);
  }
});

test('conveyor plan --cluster says which boundary crosses the link between groups and what it costs', () => {
  const folder = mkdtempSync(join(tmpdir(), 'conveyor-cluster-'));
  const path = join(folder, 'two.json');
  writeFileSync(path, JSON.stringify(twoClusters));
  const bin = new URL('../../../bin/conveyor.js', import.meta.url).pathname;
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'plan', ...args], { encoding: 'utf8' });
  const result = run('--model', 'llama3-70b', '--cluster', path, '--global-batch', '256', '--seq-len', '4096', '--tp', '8', '--cp', '1', '--top', '1');
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /llama3-70b on 64 × h100-sxm \+ 64 × a100-80gb/);
  assert.match(result.stdout, /h100s \(64 × h100-sxm\): ranks 0–\d+, layers/);
  assert.match(result.stdout, /rank \d+ \(h100s\) → rank \d+ \(a100s\) crosses the link between groups \(12\.50 GB\/s shared by \d+ GPUs\): \d+\.\d ms per message/);
  const both = run('--model', 'llama3-70b', '--cluster', path, '--gpu', 'h100-sxm', '--global-batch', '256');
  assert.equal(both.status, 2);
  assert.match(both.stderr, /leave out --gpu and --gpus/);
});

test('a job on a cluster of groups without the stage placement, or with whole stages missing, is refused', () => {
  const job: Job = jobFromConfig({
    model: 'llama3-8b', cluster: twoClusters,
    parallel: { tp: 8, pp: 16, dp: 1, microBatchSize: 1, globalBatchSize: 16, recompute: 'none', stageGroups: new Array(16).fill(0).map((_, r) => (r < 8 ? 0 : 1)) },
  }, 'ok.json');
  assert.throws(() => estimate({ ...job, parallel: { ...job.parallel, stageGroups: undefined } }), /needs parallel.stageGroups/);
  assert.throws(() => estimate({ ...job, parallel: { ...job.parallel, stageGroups: new Array(16).fill(0).map((_, r) => (r < 10 ? 0 : 1)) } }),
    /group 'h100s' has 64 GPUs but its 10 stages of tp × cp × dp = 8 use 80/);
});
