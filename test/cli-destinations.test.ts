/** Every destination is checked before the first step; a write that fails at the end still leaves the summary. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, conveyorAsync } from './conveyor-cli.js';

const tiny = ['--layers', '1', '--embd', '8', '--heads', '2', '--seq-len', '16', '--batch-size', '4', '--microbatches', '2', '--stages', '1'];
const conveyor = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });

test('a bad --save, --trace or --svg is refused in one line before any work, never after training (and never hangs)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-destinations-'));
  const file = join(dir, 'text.txt');
  writeFileSync(file, 'some text');
  const foreign = join(dir, 'project');
  mkdirSync(foreign);
  writeFileSync(join(foreign, 'config.json'), '{"name": "my project"}');
  const cases: [string[], RegExp][] = [
    [['--save', file], /^conveyor: --save .*text\.txt is a file, not a directory; give a directory for the checkpoint/],
    [['--save', join(file, 'sub')], /^conveyor: --save .*text\.txt\/sub: .*text\.txt is a file, not a folder$/m],
    [['--save', ''], /^conveyor: --save needs a directory name$/m],
    [['--save', '/dev/null'], /^conveyor: --save \/dev\/null is a file, not a directory/],
    [['--save', '/proc/conveyor-checkpoint'], /^conveyor: --save \/proc\/conveyor-checkpoint: no folder can be created in \/proc \(\w+\); give another directory$/m],
    [['--save', foreign], /^conveyor: --save .*project holds config\.json but not a Conveyor checkpoint \(.*\); give an empty or new directory$/m],
    [['--trace', dir], /^conveyor: --trace .* is a folder; give a file name inside it/],
    [['--svg', join(file, 'x.svg')], /^conveyor: --svg .*text\.txt\/x\.svg: .*text\.txt is a file, not a folder$/m],
    [['--svg', join(dir, 'missing', 'x.svg')], /^conveyor: --svg .*: the folder .*missing does not exist; create it or give another file$/m],
    [['--svg', '/proc/conveyor.svg'], /^conveyor: --svg \/proc\/conveyor\.svg: no file can be created in \/proc/],
    [['--trace', join(dir, 'same'), '--svg', join(dir, 'same')], /^conveyor: --trace and --svg both name .*same: give each its own file$/m],
  ];
  const results = await Promise.all(cases.map(([args]) => conveyorAsync(['train', ...tiny, '--steps', '1', ...args])));
  results.forEach((result, i) => {
    const [args, expected] = cases[i]!;
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stdout, '', 'refused before the data is read or a step runs');
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, expected);
  });
  assert.deepEqual(readdirSync(foreign), ['config.json'], 'the foreign folder is untouched');
});

test('a write that fails at the end (a full disk) still prints the summary, then says what was not written (exit 1)', () => {
  const result = conveyor(['train', ...tiny, '--steps', '1', '--json', '--svg', '/dev/full']);
  assert.equal(result.status, 1, result.stderr);
  assert.equal(JSON.parse(result.stdout).steps.length, 1, 'the summary is printed');
  assert.equal(result.stderr, 'conveyor: --svg: could not write /dev/full (ENOSPC)\n');
});

test('schedule --out is checked before the schedule is simulated', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-destinations-'));
  const result = conveyor(['schedule', '--out', dir]);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /^conveyor: --out .* is a folder; give a file name inside it/);
});
