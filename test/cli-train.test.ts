import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = new URL('../../bin/conveyor.js', import.meta.url).pathname;
const tiny = ['--layers', '2', '--embd', '16', '--heads', '2', '--seq-len', '16', '--batch-size', '8', '--microbatches', '4'];

function conveyor(args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
}

function trainJson(args: string[]): Record<string, any> {
  const result = conveyor(['train', ...tiny, '--json', ...args]);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

test('train --json reports the fields other tools read, per rank where it says so', () => {
  const report = trainJson(['--steps', '3', '--stages', '2', '--schedule', 'zb-h1']);
  assert.equal(report.steps.length, 3);
  for (const [i, step] of report.steps.entries()) {
    assert.equal(step.step, i + 1);
    assert.ok(step.loss > 0 && step.stepTimeS > 0 && step.tokensPerS > 0);
  }
  assert.ok(report.tokensPerS > 0);
  assert.ok(report.valLoss > 0);
  assert.match(report.paramChecksum, /^[0-9a-f]{64}$/);
  assert.equal(report.stages, 2);
  assert.equal(report.schedule, 'zb-h1');
  assert.equal(report.partition.reduce((a: number, b: number) => a + b, 0), 2);
  for (const field of ['bubbleFraction', 'simulatedBubbleFraction', 'commTimeS', 'peakActivationBytes']) {
    assert.equal(report[field].length, 2, field);
  }
  for (const fraction of [...report.bubbleFraction, ...report.simulatedBubbleFraction]) assert.ok(fraction >= 0 && fraction < 1);
  assert.ok(report.accuracy >= 0 && report.accuracy <= 1);
  assert.ok(report.digitAccuracy >= report.accuracy && report.digitAccuracy <= 1);
});

test('one rank and two ranks train the same model, bit for bit', () => {
  const one = trainJson(['--steps', '2', '--stages', '1']);
  const two = trainJson(['--steps', '2', '--stages', '2', '--schedule', 'gpipe']);
  assert.deepEqual(two.steps.map((s: any) => s.loss), one.steps.map((s: any) => s.loss));
  assert.equal(two.paramChecksum, one.paramChecksum);
});

test('a schedule printed by `conveyor schedule --format json` trains like the generated one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-'));
  const file = join(dir, 'zb-h1.json');
  const printed = conveyor(['schedule', '--schedule', 'zb-h1', '--stages', '2', '--microbatches', '4', '--format', 'json', '--out', file]);
  assert.equal(printed.status, 0, printed.stderr);
  const custom = trainJson(['--steps', '2', '--schedule-file', file]);
  const generated = trainJson(['--steps', '2', '--schedule', 'zb-h1']);
  assert.equal(custom.schedule, 'zb-h1');
  assert.equal(custom.paramChecksum, generated.paramChecksum);
});

test('invalid combinations are refused up front with what would work, exit code 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-'));
  const empty = join(dir, 'empty.txt');
  writeFileSync(empty, '');
  const cases: [string[], RegExp][] = [
    [['--stages', '5'], /5 pipeline stages need at least 5 units but the model has 4 .*use fewer --stages/],
    [['--batch-size', '10'], /--batch-size 10 is not divisible by --microbatches 4/],
    [['--schedule', 'round-robin'], /--schedule 'round-robin' is not one of naive, gpipe, 1f1b/],
    [['--schedule', 'interleaved-1f1b', '--stages', '3', '--layers', '4'], /--schedule interleaved-1f1b --stages 3 --microbatches 4: .*divisible/],
    [['--data', join(dir, 'missing.txt')], /missing\.txt does not exist; give a UTF-8 text file/],
    [['--data', empty], /empty\.txt is empty/],
    [['--data', ''], /^conveyor: the file name is empty; give a UTF-8 text file$/m],
    [['--layers', 'two'], /--layers must be a whole number/],
    [['--partition', '1,1,1'], /--partition lists 3 stages but the schedule has 2/],
    [['--partition', '1e0,1'], /--partition must be comma-separated block counts \(whole numbers ≥ 0\), got '1e0,1'/],
    [['--seq-len', '8'], /the built-in task is scored on contexts of up to 11 characters .* use --seq-len 11 or more, or --data FILE/],
    [['--resume', empty], /empty\.txt is a file, not a checkpoint directory saved by Conveyor/],
    [['--stages', '5', '--layers', '1'], /the model has 3 \(embedding, 1 block, head\)/],
  ];
  for (const [args, message] of cases) {
    const result = conveyor(['train', ...tiny, '--steps', '1', ...args]);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, message);
  }
});

test('a --schedule-file fixes ranks, schedule and chunks: --stages, --schedule or --chunks beside it is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-'));
  const file = join(dir, 'three.json');
  const printed = conveyor(['schedule', '--stages', '3', '--microbatches', '4', '--format', 'json', '--out', file]);
  assert.equal(printed.status, 0, printed.stderr);
  for (const [flag, value] of [['--stages', '2'], ['--stages', '3'], ['--schedule', 'gpipe'], ['--chunks', '2']] as const) {
    const result = conveyor(['train', ...tiny, '--steps', '1', '--schedule-file', file, flag, value]);
    assert.equal(result.status, 2, result.stderr);
    assert.equal(result.stderr, `conveyor: ${flag} cannot be used with --schedule-file; give one or the other\n`);
    assert.equal(result.stdout, '', 'refused before any work');
  }
});

test('a bad CONVEYOR_STALL_SECONDS or CONVEYOR_POLL_MS is a one-line usage error, exit code 2', () => {
  const cases: [Record<string, string>, string][] = [
    [{ CONVEYOR_STALL_SECONDS: '0' }, "CONVEYOR_STALL_SECONDS must be a number of seconds above 0, got '0'"],
    [{ CONVEYOR_POLL_MS: 'fast' }, "CONVEYOR_POLL_MS must be a number of milliseconds, 0 or more, got 'fast'"],
  ];
  for (const [env, message] of cases) {
    const result = conveyor(['train', ...tiny, '--steps', '1'], env);
    assert.equal(result.status, 2, result.stderr);
    assert.equal(result.stderr.trim(), `conveyor: ${message}`);
    assert.equal(result.stdout, '', 'refused before the data is read or a stage is profiled');
  }
});

test('a run that diverges (loss NaN) says so and what keeps it finite', () => {
  const result = conveyor(['train', ...tiny, '--steps', '4', '--lr', '1e30', '--stages', '1']);
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /loss is NaN \(the run diverged: a smaller --lr, or --clip, keeps it finite\)\n$/);
});

test('a fault on one rank stops the whole run quickly and says where', () => {
  const began = Date.now();
  const result = conveyor(['train', ...tiny, '--steps', '4', '--stages', '2'], { CONVEYOR_FAULT: 'rank:1,step:2,action:B' });
  assert.ok(Date.now() - began < 30_000);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /rank 1 failed at step 2, stage 1, B micro-batch 0: injected fault/);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
});

test('--trace and --svg write the last step as measured', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-'));
  trainJson(['--steps', '2', '--trace', join(dir, 'trace.json'), '--svg', join(dir, 'step.svg')]);
  const trace = JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8'));
  // compute on one thread per rank (communication that takes time has threads of its own)
  const ranks = new Set(trace.traceEvents.filter((event: any) => event.ph === 'X' && /^\d+[FBIW]\d+$/.test(event.name)).map((event: any) => event.tid ?? event.pid));
  assert.deepEqual([...ranks].sort(), [0, 1]);
  assert.match(readFileSync(join(dir, 'step.svg'), 'utf8'), /^<svg[\s\S]*rank 1[\s\S]*<\/svg>\s*$/);
});

test('a crash after a checkpoint loses nothing: resuming gives the uninterrupted losses, on another stage count', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-'));
  const uninterrupted = trainJson(['--steps', '6']);
  const crashed = conveyor(['train', ...tiny, '--steps', '6', '--save', dir, '--save-every', '2'], { CONVEYOR_FAULT: 'rank:0,step:5,action:F,mode:exit' });
  assert.equal(crashed.status, 1);
  assert.ok(existsSync(join(dir, 'model.safetensors')));
  const resumed = trainJson(['--steps', '6', '--resume', dir, '--stages', '1']);
  assert.deepEqual(resumed.steps.map((s: any) => s.step), [5, 6]);
  assert.deepEqual(resumed.steps.map((s: any) => s.loss), uninterrupted.steps.slice(4).map((s: any) => s.loss));
  assert.equal(resumed.paramChecksum, uninterrupted.paramChecksum);
});
