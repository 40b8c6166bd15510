import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = new URL('../../bin/conveyor.js', import.meta.url).pathname;

function conveyor(...args: string[]) {
  return spawnSync(process.execPath, [bin, 'schedule', ...args], { encoding: 'utf8' });
}

function assertUsageError(args: string[], expected: RegExp): void {
  const result = conveyor(...args);
  assert.equal(result.status, 2, args.join(' '));
  assert.equal(result.stdout, '');
  assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
  assert.match(result.stderr, expected);
}

test('--format json carries the fields other tools read', () => {
  const result = conveyor('--schedule', '1f1b', '--stages', '4', '--microbatches', '8', '--format', 'json');
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.schedule, '1f1b');
  assert.equal(report.ranks, 4);
  assert.equal(report.stages, 4);
  assert.equal(report.microbatches, 8);
  assert.equal(report.actions, 64);
  assert.equal(report.makespan, 33); // (m + p - 1)(F + B)
  assert.equal(report.bubbleFraction.length, 4);
  for (const fraction of report.bubbleFraction) assert.ok(Math.abs(fraction - 3 / 11) < 1e-12);
  assert.deepEqual(report.peakActivations, [4, 3, 2, 1]);
  assert.equal(report.order[3], '3F0 3B0 3F1 3B1 3F2 3B2 3F3 3B3 3F4 3B4 3F5 3B5 3F6 3B6 3F7 3B7');
});

test('--chunks, --costs and --comm reach the simulator', () => {
  const result = conveyor('--schedule', 'interleaved-1f1b', '--stages', '2', '--microbatches', '4', '--chunks', '2', '--costs', 'f=2,b=4', '--comm', '0', '--format', 'json');
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.stages, 4);
  assert.equal(report.chunks, 2);
  assert.equal(report.makespan, 4 * 6 + (1 * 6) / 2); // m(F+B) + (p-1)(F+B)/v
  const withComm = JSON.parse(conveyor('--stages', '2', '--microbatches', '1', '--comm', '0.5', '--format', 'json').stdout);
  assert.equal(withComm.makespan, 3 * 2 + 2 * 0.5); // one micro-batch crosses the one boundary forward and back
});

test('the text grid is the default, with bubble and peak beside each rank', () => {
  const result = conveyor('--stages', '2', '--microbatches', '2');
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.split('\n');
  assert.match(lines[0]!, /^1f1b · 2 ranks · 2 stages · 2 micro-batches · makespan 9 · mean bubble 33\.3%/);
  assert.match(lines[1]!, /^rank 0 \|0F0 0F1 \.+0B0 +\.+0B1 +\| bubble  33\.3%  peak 2$/);
  assert.match(lines[2]!, /^rank 1 \|\.{4}1F0 1B0 +1F1 1B1 +\.*\| bubble  33\.3%  peak 1$/);
});

test('--format svg and trace, written with --out', () => {
  const folder = mkdtempSync(join(tmpdir(), 'conveyor-schedule-'));
  const svgPath = join(folder, 'zb.svg');
  const svg = conveyor('--schedule', 'zb-h1', '--format', 'svg', '--out', svgPath);
  assert.equal(svg.status, 0, svg.stderr);
  assert.match(svg.stdout, /wrote svg to .*zb\.svg/);
  assert.match(readFileSync(svgPath, 'utf8'), /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);

  const trace = JSON.parse(conveyor('--stages', '3', '--microbatches', '2', '--format', 'trace').stdout);
  const complete = trace.traceEvents.filter((event: { ph: string }) => event.ph === 'X');
  assert.equal(complete.length, 3 * 2 * 2);
});

test('--file reads a custom schedule as text or JSON', () => {
  const folder = mkdtempSync(join(tmpdir(), 'conveyor-schedule-'));
  const textPath = join(folder, 'mine.txt');
  writeFileSync(textPath, 'rank 0: 0F0 0F1 0B0 0B1\nrank 1: 1F0 1B0 1F1 1B1\n');
  const fromText = JSON.parse(conveyor('--file', textPath, '--format', 'json').stdout);
  assert.equal(fromText.schedule, 'mine');
  assert.equal(fromText.makespan, 9);

  const jsonPath = join(folder, 'mine.json');
  writeFileSync(jsonPath, JSON.stringify({ name: 'j', ranks: 2, stages: 2, microbatches: 1, placement: [0, 1], order: ['0F0 0B0', '1F0 1B0'] }));
  assert.equal(JSON.parse(conveyor('--file', jsonPath, '--format', 'json').stdout).makespan, 6);

  const deadlocked = join(folder, 'stuck.txt');
  writeFileSync(deadlocked, 'rank 0: 0F0 0B0 0F1 0B1\nrank 1: 1F1 1B1 1F0 1B0\n');
  assertUsageError(['--file', deadlocked], /^conveyor: --file .*stuck\.txt: deadlock: rank 0 waits before 0B0 for 1B0's gradient from rank 1/);
});

test('bad input: one line naming the flag and what it accepts, exit code 2', () => {
  assertUsageError(['--schedule', 'pipedream'], /'--schedule <name>' argument 'pipedream' is invalid\. Allowed choices are naive, gpipe, 1f1b, interleaved-1f1b, zb-h1, zb-h2, zb-v, dualpipe-v/);
  assertUsageError(['--stages', '0'], /'--stages <p>' argument '0' is invalid\. expected a positive integer/);
  assertUsageError(['--microbatches', '-3'], /'--microbatches <m>' argument '-3' is invalid/);
  assertUsageError(['--stages', '2.5'], /'--stages <p>' argument '2\.5' is invalid/);
  assertUsageError(['--costs', 'f=1,x=2'], /'--costs <spec>' argument 'f=1,x=2' is invalid\. cannot read 'x=2': use keys f, b, i, w/);
  assertUsageError(['--costs', 'f=0'], /'--costs <spec>'.*positive numbers/);
  assertUsageError(['--comm', 'fast'], /'--comm <seconds>' argument 'fast' is invalid/);
  assertUsageError(['--format', 'pdf'], /Allowed choices are text, svg, trace, json, torch-csv/);
  assertUsageError(['--schedule', 'interleaved-1f1b', '--microbatches', '6'], /interleaved-1f1b needs micro-batches divisible by ranks .*such as 4 or 8/);
  assertUsageError(['--schedule', 'zb-v', '--chunks', '3'], /zb-v places exactly 2 chunks per rank \(got 3\)/);
  assertUsageError(['--schedule', '1f1b', '--chunks', '2'], /1f1b runs one chunk per rank/);
  assertUsageError(['--file', '/no/such/schedule.txt'], /--file: cannot read '\/no\/such\/schedule\.txt': no such file/);
  assertUsageError(['--file', 'x.txt', '--stages', '3'], /'--stages <p>' cannot be used with option '--file <path>'/);
});
