import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = new URL('../../bin/conveyor.js', import.meta.url).pathname;
const conveyor = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });

/** One line on stderr, exit code 2, nothing on stdout. */
function usageError(args: string[]): string {
  const result = conveyor(...args);
  assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
  assert.equal(result.stdout, '', args.join(' '));
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  return result.stderr.trim();
}

test('an unknown command is a one-line usage error with exit code 2', () => {
  assert.equal(
    usageError(['trian']),
    "conveyor: 'trian' is not a conveyor command; did you mean train? (commands: train, launch, eval, sample, schedule, plan, estimate, explain, diagnose, lab)",
  );
});

test('--version prints the version in package.json', () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const result = conveyor('--version');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, `${version}\n`);
});

test('no command prints the help on stderr and exits 2, with no stray line', () => {
  const result = conveyor();
  assert.equal(result.status, 2);
  assert.match(result.stderr, /^Usage: conveyor /);
  assert.doesNotMatch(result.stderr, /outputHelp|conveyor: /);
});

test('every command reads a count by one rule: decimal digits, so 1e9 is refused with the digits to write', () => {
  const cases: [string[], string][] = [
    [['train', '--layers', '1e9'], '--layers must be a whole number ≥ 1'],
    [['train', '--steps', '1e15'], '--steps must be a whole number ≥ 1'],
    [['schedule', '--microbatches', '1e9'], '--microbatches must be a whole number ≥ 1'],
    [['sample', '--checkpoint', 'none', '--prompt', 'a', '--tokens', '1e9'], '--tokens must be a whole number ≥ 0'],
    [['plan', '--model', 'llama3-8b', '--gpu', 'h100-sxm', '--gpus', '8', '--global-batch', '1e9'], '--global-batch must be a whole number ≥ 1'],
  ];
  for (const [args, start] of cases) {
    const value = args[args.length - 1]!;
    assert.equal(usageError(args), `conveyor: ${start}, got '${value}' (write it in digits: ${Number(value)})`);
  }
  assert.equal(usageError(['train', '--seed', '0x10']), "conveyor: --seed must be a whole number ≥ 0, got '0x10'");
  assert.equal(usageError(['train', '--lr', '1e999']), "conveyor: --lr must be a number > 0, got '1e999' (too large to be a finite number)");
});

test("commander's own errors read like every other message: the flag, what is wrong, what would be right", () => {
  const cases: [string[], string][] = [
    [['train', '--sav', 'x'], "conveyor: '--sav' is not an option of conveyor train; did you mean --save? (conveyor train --help lists them)"],
    [['train', '--save'], 'conveyor: --save needs a value: --save <dir>'],
    [['eval'], 'conveyor: conveyor eval needs --checkpoint <dir>'],
    [['train', '--untied', 'false'], "conveyor: conveyor train takes only --options, so 'false' is not understood (a switch such as --json takes no value)"],
    [['schedule', '--format', 'pdf'], "conveyor: --format must be one of text, svg, trace, json, torch-csv, got 'pdf'"],
    [['schedule', '--file', 'x', '--chunks', '2'], 'conveyor: --chunks cannot be used with --file; give one or the other'],
  ];
  for (const [args, expected] of cases) assert.equal(usageError(args), expected);
});

test('inputs that used to hang or be read in silence are refused: /dev/zero files, a list where one value goes, an unsafe count', () => {
  const plan = ['plan', '--model', 'llama3-8b', '--gpu', 'h100-sxm', '--gpus', '8', '--global-batch', '8'];
  const cases: [string[], string][] = [
    [['estimate', '--config', '/dev/zero'], 'conveyor: /dev/zero is not a regular file; give an estimate config JSON file: { model, cluster, parallel, precision? }'],
    [['plan', '--model', '/dev/zero.json', '--gpu', 'h100-sxm', '--gpus', '8', '--global-batch', '8'], 'conveyor: /dev/zero.json does not exist; give a model file (a Hugging Face config.json or a JSON model shape), or a preset id'],
    [[...plan, '--hardware', '/dev/zero'], 'conveyor: /dev/zero is not a regular file; give a JSON hardware file describing your GPU'],
    [[...plan, '--precision', 'bf16,fp8'], "conveyor: --precision must be one of bf16, fp16, fp8, got 'bf16,fp8'"],
    [[...plan.slice(0, -1), '99999999999999999'], "conveyor: --global-batch must be a whole number ≥ 1, got '99999999999999999' (at most 9007199254740991)"],
    [['plan', '--model', 'llama3-8b', '--global-batch', '8', '--cluster', '/dev/zero'], 'conveyor: /dev/zero is not a regular file; give a cluster file: a JSON file of GPU groups, { "groups": [{ "gpu", "gpus", "nodes"? }], "interGroupBandwidthGBs" }'],
    [['diagnose', '/dev/zero'], 'conveyor: /dev/zero is not a regular file; give the Chrome trace of one rank (torch.profiler) or a conveyor --trace file'],
    [['diagnose', '/tmp'], 'conveyor: /tmp is not a regular file; give the Chrome trace of one rank (torch.profiler) or a conveyor --trace file'],
    [['estimate', '--megatron-args-file', '/dev/zero'], 'conveyor: /dev/zero is not a regular file; give a launch script'],
  ];
  for (const [args, expected] of cases) assert.equal(usageError(args), expected);
});

test('a trace over 512 MiB is refused by its size, before it is read', () => {
  const folder = mkdtempSync(join(tmpdir(), 'conveyor-trace-'));
  try {
    const trace = join(folder, 'huge.json');
    writeFileSync(trace, '');
    truncateSync(trace, 513 * 2 ** 20); // sparse: no disk space, and reading it would take seconds
    assert.equal(usageError(['diagnose', trace]), `conveyor: trace file ${trace} is 513 MiB; profile fewer steps (at most 512 MiB per file)`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('cluster sizes beyond any machine are refused in a line, not searched for ever or crashed on', () => {
  const folder = mkdtempSync(join(tmpdir(), 'conveyor-cluster-'));
  try {
    // A group of 10¹⁵ GPUs held more pipeline stages than an array can; 2⁴⁰ GPUs were tried divisor by divisor.
    const cluster = join(folder, 'huge.json');
    writeFileSync(cluster, JSON.stringify({ groups: [{ gpu: 'h100-sxm', gpus: 8 }, { gpu: 'a100-80gb', gpus: 1e15, nodes: 1 }], interGroupBandwidthGBs: 12.5 }));
    assert.match(usageError(['plan', '--model', 'llama3-8b', '--global-batch', '64', '--cluster', cluster]), /^conveyor: no way to split llama3-8b on 8 × h100-sxm \+ 1000000000000000 × a100-80gb .*pp must leave at least one of the 32 layers/);
    assert.match(usageError(['plan', '--model', 'llama3-8b', '--global-batch', '64', '--gpu', 'h100-sxm', '--gpus', String(2 ** 40)]), /^conveyor: no way to split llama3-8b on 1099511627776 × h100-sxm/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
