// `conveyor schedule` with lowered lists and PyTorch CSVs, and `train --schedule-file` reading them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = new URL('../../../bin/conveyor.js', import.meta.url).pathname;
const tiny = ['--layers', '2', '--embd', '16', '--heads', '2', '--seq-len', '16', '--batch-size', '8', '--microbatches', '4'];

function conveyor(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
}

function ok(...args: string[]): string {
  const result = conveyor(...args);
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

function usageError(args: string[], expected: RegExp): void {
  const result = conveyor(...args);
  assert.equal(result.status, 2, `${args.join(' ')}: ${result.stdout}`);
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, expected);
}

const folder = mkdtempSync(join(tmpdir(), 'conveyor-interop-'));

test('--lowered prints the lowered lists after the grid, and in JSON with replicas and the tied embedding', () => {
  const text = ok('schedule', '--schedule', '1f1b', '--stages', '2', '--microbatches', '2', '--replicas', '2', '--lowered');
  assert.match(text, /\nschedule 1f1b\nreplicas 2\ntied-embedding yes\nrank 0: 0F0 0SEND_F0 0F1 0SEND_F1 0RECV_B0 0B0 0RECV_B1 0B1 0REDUCE_GRAD 0SEND_TIED 0RECV_TIED\n/);
  const json = JSON.parse(ok('schedule', '--stages', '2', '--microbatches', '2', '--untied', '--lowered', '--format', 'json'));
  assert.equal(json.tiedEmbedding, false);
  assert.equal(json.replicas, 1);
  assert.deepEqual(json.lowered, ['0F0 0SEND_F0 0F1 0SEND_F1 0RECV_B0 0B0 0RECV_B1 0B1', '1RECV_F0 1F0 1B0 1SEND_B0 1RECV_F1 1F1 1B1 1SEND_B1']);
  assert.deepEqual(json.order, ['0F0 0F1 0B0 0B1', '1F0 1B0 1F1 1B1']);
});

test('--reduce and --tied-comm reach the simulator: an exposed reduction lengthens the step, and the grid shows it', () => {
  const base = JSON.parse(ok('schedule', '--stages', '2', '--microbatches', '2', '--format', 'json'));
  const reduced = JSON.parse(ok('schedule', '--stages', '2', '--microbatches', '2', '--replicas', '2', '--reduce', '1.5', '--tied-comm', '0.25', '--format', 'json'));
  assert.equal(base.makespan, 9);
  assert.equal(reduced.makespan, 10.75); // see simulate.test.ts: rank 0's reduction and tied send follow its last backward
  const grid = ok('schedule', '--stages', '2', '--microbatches', '2', '--replicas', '2', '--reduce', '1.5');
  assert.match(grid, /\n  comm \|[ >]*R+ *\|\n/);
});

test('--format torch-csv writes PyTorch\'s compute_only CSV; --file reads it and PyTorch\'s compute_comms form', () => {
  const csv = ok('schedule', '--schedule', 'interleaved-1f1b', '--stages', '2', '--microbatches', '4', '--format', 'torch-csv');
  assert.equal(csv, '0F0,0F1,2F0,2F1,0F2,2B0,0F3,2B1,2F2,0B0,2F3,0B1,2B2,2B3,0B2,0B3\n1F0,1F1,3F0,3B0,3F1,3B1,1F2,1B0,1F3,1B1,3F2,3B2,3F3,3B3,1B2,1B3\n');
  const path = join(folder, 'interleaved.csv');
  writeFileSync(path, csv);
  const read = JSON.parse(ok('schedule', '--file', path, '--format', 'json'));
  assert.equal(read.schedule, 'interleaved');
  assert.equal(read.stages, 4);
  assert.deepEqual(read.placement, [0, 1, 0, 1]);
  const comms = join(folder, 'comms.csv');
  writeFileSync(comms, '0F0,0SEND_F0,0RECV_B0,0B0,0REDUCE_GRAD\n1RECV_F0,1F0,1B0,1SEND_B0,1REDUCE_GRAD\n');
  assert.deepEqual(JSON.parse(ok('schedule', '--file', comms, '--format', 'json')).order, ['0F0 0B0', '1F0 1B0']);
  const junk = join(folder, 'junk.csv');
  writeFileSync(junk, '0F0,0B0junk\n1F0,1B0\n');
  usageError(['schedule', '--file', junk], /^conveyor: --file .*junk\.csv: row 1 \(rank 0\), column 2: cannot read '0B0junk': expected/);
});

test('a schedule JSON whose sizes or placement contradict its order is refused naming the contradiction', () => {
  const printed = JSON.parse(ok('schedule', '--stages', '2', '--microbatches', '2', '--format', 'json'));
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...printed, microbatches: 8 }, /schedule JSON: microbatches is 8 but the order runs micro-batches 0\.\.1/],
    [{ ...printed, placement: [1, 0] }, /schedule JSON: placement puts stage 0 on rank 1 but rank 0 runs it/],
    [{ ...printed, stages: 3 }, /schedule JSON: stages is 3 but the order runs stages 0\.\.1/],
    [{ name: 'x', ranks: 2, stages: 2, microbatches: 3, placement: [0, 1], order: printed.order }, /schedule JSON: microbatches is 3 but the order runs micro-batches 0\.\.1/],
  ];
  cases.forEach(([value, expected], i) => {
    const path = join(folder, `contradiction-${i}.json`);
    writeFileSync(path, JSON.stringify(value));
    usageError(['schedule', '--file', path], expected);
  });
});

test('train --schedule-file runs a PyTorch CSV exactly like the generated schedule, and refuses a forward-only one', () => {
  const path = join(folder, 'dualpipe-v.csv');
  ok('schedule', '--schedule', 'dualpipe-v', '--stages', '2', '--microbatches', '4', '--format', 'torch-csv', '--out', path);
  assert.match(readFileSync(path, 'utf8'), /\(0F3;3B1\)OVERLAP_F_B/);
  const fromFile = JSON.parse(ok('train', ...tiny, '--steps', '2', '--json', '--schedule-file', path));
  const generated = JSON.parse(ok('train', ...tiny, '--steps', '2', '--json', '--schedule', 'dualpipe-v', '--stages', '2'));
  assert.equal(fromFile.paramChecksum, generated.paramChecksum);
  const forward = join(folder, 'forward.txt');
  writeFileSync(forward, 'rank 0: 0F0 0F1 0F2 0F3\nrank 1: 1F0 1F1 1F2 1F3\n');
  usageError(['train', ...tiny, '--steps', '1', '--schedule-file', forward], /--schedule-file .*forward\.txt: runs forward only/);
});
