/**
 * PyTorch's pipeline runtime running a Conveyor-made schedule beside its own built-in schedule of the same
 * shape: the reference GPT (4 layers, C=256, 4 heads, T=128, batch 32, 8 micro-batches, tied head) on 2 gloo
 * processes with one thread each, through scripts/torch_pipeline.py. Runs alternate Conveyor and PyTorch in
 * each round so load on a shared host falls on both; prints tokens/s per run, the medians and their ratio.
 * Run: npm run build && node dist/bench/torch-pipeline.js [rounds] [steps]
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogueEntry, formatTorchCsv, generateSchedule, type ScheduleName } from '../src/schedule/index.js';
import { missingPython, python } from '../test/python.js';

const script = new URL('../../scripts/torch_pipeline.py', import.meta.url).pathname;
const model = ['--layers', '4', '--embd', '256', '--heads', '4', '--seq-len', '128', '--batch-size', '32', '--microbatches', '8', '--threads', '1'];
const pairs: ScheduleName[] = ['1f1b', 'interleaved-1f1b', 'zb-v', 'dualpipe-v'];

function torchRun(args: string[]): number {
  const result = spawnSync(python, ['-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2', script, ...model, ...args, '--json'], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  if (result.status !== 0) throw new Error(`torch_pipeline ${args.join(' ')} failed: ${result.stderr.slice(-1000)}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!).tokensPerS;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

function main(): void {
  const missing = missingPython('torch');
  if (missing) {
    console.log(`skipped: ${missing}`);
    return;
  }
  const rounds = Number(process.argv[2] ?? 2);
  const steps = String(Number(process.argv[3] ?? 4));
  const folder = mkdtempSync(join(tmpdir(), 'conveyor-torch-bench-'));
  console.log(`${new Date().toISOString().slice(0, 10)} · ${cpus()[0]?.model ?? 'unknown CPU'} · ${rounds} rounds · ${steps} steps (the first untimed)`);
  console.log(`${'Conveyor / PyTorch schedule'.padEnd(38)}${'Conveyor CSV tokens/s'.padEnd(24)}${'PyTorch built-in tokens/s'.padEnd(28)}ratio`);
  for (const name of pairs) {
    const torchClass = catalogueEntry(name).torchClass!;
    const csv = join(folder, `${name}.csv`);
    writeFileSync(csv, formatTorchCsv(generateSchedule(name, { ranks: 2, microbatches: 8 })));
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const conveyorFirst = round % 2 === 0;
      if (conveyorFirst) ours.push(torchRun(['--schedule-csv', csv, '--steps', steps]));
      theirs.push(torchRun(['--schedule', torchClass, '--steps', steps]));
      if (!conveyorFirst) ours.push(torchRun(['--schedule-csv', csv, '--steps', steps]));
    }
    const runs = (values: number[]) => `${median(values).toFixed(0)} (${values.map((v) => v.toFixed(0)).join(', ')})`;
    console.log(`${`${name} / ${torchClass}`.padEnd(38)}${runs(ours).padEnd(24)}${runs(theirs).padEnd(28)}${(median(ours) / median(theirs)).toFixed(3)}`);
  }
}

main();
