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
  assertUsageError(['--schedule', 'pipedream'], /^conveyor: --schedule must be one of naive, gpipe, 1f1b, interleaved-1f1b, zb-h1, zb-h2, zb-v, dualpipe-v, got 'pipedream'$/m);
  assertUsageError(['--stages', '0'], /^conveyor: --stages must be a whole number ≥ 1, got '0'$/m);
  assertUsageError(['--microbatches', '-3'], /^conveyor: --microbatches must be a whole number ≥ 1, got '-3'$/m);
  assertUsageError(['--stages', '2.5'], /^conveyor: --stages must be a whole number ≥ 1, got '2\.5'$/m);
  assertUsageError(['--stages', '1e2'], /^conveyor: --stages must be a whole number ≥ 1, got '1e2' \(write it in digits: 100\)$/m);
  assertUsageError(['--costs', 'f=1,x=2'], /^conveyor: --costs: cannot read 'x=2': use keys f, b, i, w with numbers > 0, e\.g\. f=1,b=2,i=1,w=1$/m);
  assertUsageError(['--costs', 'f=0'], /^conveyor: --costs f must be a number > 0, got '0'$/m);
  assertUsageError(['--comm', 'fast'], /^conveyor: --comm must be a number ≥ 0, got 'fast'$/m);
  assertUsageError(['--format', 'pdf'], /^conveyor: --format must be one of text, svg, trace, json, torch-csv, got 'pdf'$/m);
  assertUsageError(['--width', '1000000'], /^conveyor: --width must be a whole number from 1 to 100000, got '1000000'$/m);
  assertUsageError(['--schedule', 'interleaved-1f1b', '--microbatches', '6'], /interleaved-1f1b needs micro-batches divisible by ranks .*such as 4 or 8/);
  assertUsageError(['--schedule', 'zb-v', '--chunks', '3'], /zb-v places exactly 2 chunks per rank \(got 3\)/);
  assertUsageError(['--schedule', '1f1b', '--chunks', '2'], /1f1b runs one chunk per rank/);
  assertUsageError(['--file', '/no/such/schedule.txt'], /^conveyor: --file: \/no\/such\/schedule\.txt does not exist; give a schedule: its text form, JSON, or a PyTorch schedule CSV$/m);
  assertUsageError(['--file', '/dev/zero'], /^conveyor: --file: \/dev\/zero is not a regular file; give a schedule/m); // it was read for ever
  assertUsageError(['--file', 'x.txt', '--stages', '3'], /^conveyor: --stages cannot be used with --file; give one or the other$/m);
});

test('figures that overflow are refused, not printed as Infinity and NaN; a grid too large to draw is refused before simulating', () => {
  assertUsageError(['--costs', 'f=1e308'], /^conveyor: --costs f=1e\+308,b=2,i=1,w=1 --comm 0 --reduce 0 --tied-comm 0 make the timeline overflow \(its makespan is Infinity\): give smaller numbers$/m);
  assertUsageError(['--comm', '1e308'], /make the timeline overflow/);
  assertUsageError(['--costs', 'f=1e999'], /^conveyor: --costs f must be a number > 0, got '1e999' \(too large to be a finite number\)$/m);
  assertUsageError(['--stages', '3000', '--microbatches', '1', '--width', '100000'], /a text grid of 3000 ranks × 100000 columns is too large to draw: use --width 89478 or less, or --format json/);
});

test('a text grid of 100 000 ranks is drawn, not a stack overflow', () => {
  const args = ['schedule', '--stages', '100000', '--microbatches', '1', '--width', '20'];
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', maxBuffer: 2 ** 26 });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout.split('\n')[100000]!, /^rank 99999 \|/);
});

test('a binary or garbled schedule file is quoted in a short, printable excerpt', () => {
  const folder = mkdtempSync(join(tmpdir(), 'conveyor-schedule-'));
  const binary = join(folder, 'weights.bin');
  writeFileSync(binary, Uint8Array.from({ length: 3000 }, (_, i) => (i * 37 + 11) % 256));
  assertUsageError(['--file', binary], /^conveyor: --file: .*weights\.bin is not valid UTF-8 text\n$/);
  const cases: [string, RegExp][] = [
    [`rank 0: 0F0 ${'x'.repeat(2000)}\n`, /cannot read action 'x{40}…'/],
    ['rank 0: 0F0 \u001b[31mred\n', /cannot read action '\\u001b\[31mred'/],
    [`${'garbage '.repeat(200)}\n`, /\(got 'garbage garbage garbage garbage garbage …'\)/],
    ['{"a": \u0001}', /not valid JSON \(Unexpected token '\\u0001'/],
  ];
  for (const [text, expected] of cases) {
    const file = join(folder, 'schedule.txt');
    writeFileSync(file, text);
    assertUsageError(['--file', file], expected);
    const { stderr } = conveyor('--file', file);
    assert.ok(stderr.length < 400, stderr);
    assert.doesNotMatch(stderr.trimEnd(), /[\u0000-\u001f]/);
  }
});
