// PyTorch's pipeline runtime runs Conveyor's schedules: its own _load_csv, validator, lowering and dry-run
// accept every generated schedule, its schedule classes lay out the same orders, and two training steps of a
// small GPT on 2 gloo processes give the losses of PyTorch's built-in schedule for the same stages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogueEntry, catalogueNames, formatOrders, formatTorchCsv, generateSchedule, type Schedule } from '../../src/schedule/index.js';
import { missingPython, python } from '../python.js';

const driver = new URL('../../../test/schedule/torch_interop.py', import.meta.url).pathname;

function torchTooOld(): false | string {
  const missing = missingPython('torch');
  if (missing) return missing;
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  const [major, minor] = probe.stdout.trim().split('.').map(Number);
  return major! > 2 || (major === 2 && minor! >= 6) ? false : `PyTorch ${probe.stdout.trim()} is older than 2.6`;
}

const skip = torchTooOld();
const folder = mkdtempSync(join(tmpdir(), 'conveyor-torch-'));

interface Case {
  readonly csv: string;
  readonly name: string;
  readonly ranks: number;
  readonly stages: number;
  readonly microbatches: number;
  readonly torchClass?: string;
}

function writeCase(schedule: Schedule, tag: string): Case {
  const csv = join(folder, `${tag}.csv`);
  writeFileSync(csv, formatTorchCsv(schedule));
  const { torchClass } = catalogueEntry(schedule.name as never);
  const { name, ranks, stages, microbatches } = schedule;
  return { csv, name, ranks, stages, microbatches, ...(torchClass === undefined ? {} : { torchClass }) };
}

function runDriver(args: string[], cases: readonly unknown[], label: string): { torch: string; results: any[] } {
  const path = join(folder, `${label}.json`);
  writeFileSync(path, JSON.stringify(cases));
  const result = spawnSync(python, [...args, driver, label.startsWith('train') ? 'train' : 'load', path], {
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  assert.equal(result.status, 0, `${label}: ${result.stderr.slice(-2000)}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!);
}

test("PyTorch's _load_csv, validator, lowering and dry-run accept every generated schedule; its classes give the same orders", { skip }, () => {
  const cases: Case[] = [];
  for (const name of catalogueNames) {
    for (const ranks of [2, 3, 4]) {
      for (const factor of [2, 3]) {
        const entry = catalogueEntry(name);
        const chunkCounts = entry.chunks.max > entry.chunks.min ? [entry.chunks.min, entry.chunks.min + 1] : [entry.chunks.default];
        for (const chunks of chunkCounts) {
          const schedule = generateSchedule(name, { ranks, microbatches: factor * ranks, chunks });
          cases.push(writeCase(schedule, `${name}-${ranks}-${factor * ranks}-${chunks}`));
        }
      }
    }
  }
  const { results } = runDriver([], cases, 'load');
  results.forEach((result, i) => {
    const { name, ranks, microbatches, stages, csv } = cases[i]!;
    assert.ok(result.loaded, `${csv}: ${result.error}`);
    assert.equal(result.classError, undefined, `${csv}: PyTorch's ${cases[i]!.torchClass} for the same sizes`);
    if (result.classOrder === undefined || stages !== ranks * catalogueEntry(name as never).chunks.default) return;
    const ours = formatOrders(generateSchedule(name as never, { ranks, microbatches })).map((row) => row.replace(/[();]/g, ' ').replace(/ +/g, ' ').trim());
    // Schedule1F1B's displayed order (_get_pipeline_order, PyTorch 2.13) numbers the last rank's forwards from 1,
    // which its runtime does not do; that row is left out.
    const compared = name === '1f1b' ? ranks - 1 : ranks;
    assert.deepEqual(result.classOrder.slice(0, compared), ours.slice(0, compared), `${name} p=${ranks} m=${microbatches} vs PyTorch ${cases[i]!.torchClass}`);
  });
});

test('two training steps on 2 gloo processes under each generated schedule match PyTorch\'s built-in schedule for the same stages', { skip }, () => {
  const microbatches = 4;
  const csvCases = catalogueNames.map((name) => writeCase(generateSchedule(name, { ranks: 2, microbatches }), `train-${name}`));
  const builtIn = ['1F1B', 'Interleaved1F1B', 'ZBVZeroBubble', 'DualPipeV'];
  const cases = [...csvCases.map(({ csv, name }) => ({ csv, name, microbatches })), ...builtIn.map((schedule) => ({ schedule, microbatches }))];
  const { results } = runDriver(['-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2'], cases, 'train');
  const reference = new Map<string, number[]>(); // stages and placement -> PyTorch's losses
  for (const result of results.filter((r) => r.schedule !== undefined)) {
    const placement = result.schedule === 'ZBVZeroBubble' || result.schedule === 'DualPipeV' ? 'v' : 'looped';
    const key = `${result.stages}-${placement}`;
    if (!reference.has(key)) reference.set(key, result.losses);
    assert.deepEqual(result.losses, reference.get(key), `PyTorch's own ${result.schedule} agrees with the first built-in of its shape`);
  }
  for (const result of results.filter((r) => r.csv !== undefined)) {
    const expected = reference.get(`${result.stages}-${catalogueEntry(result.name).placement}`)!;
    assert.equal(result.losses.length, 2);
    result.losses.forEach((loss: number, step: number) => {
      assert.ok(Number.isFinite(loss) && Math.abs(loss - expected[step]!) <= 1e-6 * Math.abs(expected[step]!), `${result.name} step ${step}: ${loss} vs PyTorch ${expected[step]}`);
    });
  }
  // Looped and V placements cut the model at the same layers: one model, one loss.
  assert.deepEqual(reference.get('4-v'), reference.get('4-looped'));
});

test('scripts/torch_pipeline.py refuses bad arguments in one line, exit code 2, before starting a process group', { skip }, () => {
  const script = new URL('../../../scripts/torch_pipeline.py', import.meta.url).pathname;
  const cases: [string[], RegExp][] = [
    [['--embd', '30', '--heads', '4'], /^torch_pipeline: --embd 30 must be a multiple of --heads 4$/],
    [['--batch-size', '10', '--microbatches', '4'], /^torch_pipeline: --batch-size 10 must be a multiple of --microbatches 4$/],
    [['--steps', '0'], /^torch_pipeline: --steps must be a positive integer \(got 0\)$/],
    [[], /^torch_pipeline: run under torchrun, e\.g\. torchrun --nproc-per-node 2/],
  ];
  for (const [args, expected] of cases) {
    const { WORLD_SIZE: _world, RANK: _rank, ...env } = process.env;
    const result = spawnSync(python, [script, ...args], { encoding: 'utf8', env });
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr.trim(), expected);
  }
});
