/**
 * `train --resume DIR`, one rule: a flag that contradicts the checkpoint is refused naming both values; a
 * flag left out comes from the checkpoint, which saves what resuming needs (batch size, sequence length, seed,
 * optimizer settings, the text's digest).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTrainingExtras, saveCheckpoint } from '../src/checkpoint/checkpoint.js';
import { resumedOptions } from '../src/cli/resume-flags.js';
import { CharTokenizer } from '../src/data/tokenizer.js';
import { UsageError } from '../src/errors.js';
import { buildSegment } from '../src/nn/segment.js';
import { parseTrainOptions } from '../src/runtime/config.js';

const bin = new URL('../../bin/conveyor.js', import.meta.url).pathname;
const conveyor = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });

const dir = mkdtempSync(join(tmpdir(), 'conveyor-resume-cli-'));
const text = join(dir, 'text.txt');
writeFileSync(text, 'the cat sat on the mat. the dog sat on the log. '.repeat(20));
// Nothing here is a default, so a resumed run can only match by reading them from the checkpoint.
const run = ['--data', text, '--layers', '2', '--embd', '8', '--heads', '2', '--seq-len', '8', '--batch-size', '6', '--microbatches', '2', '--lr', '0.01', '--weight-decay', '0.05', '--clip', '0.5', '--seed', '5', '--untied', '--stages', '1'];

function trained(args: string[]): { steps: { loss: number }[]; paramChecksum: string } {
  const result = conveyor(['train', '--json', ...args]);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

test('a resumed run given no flags but --resume and --steps continues exactly as the uninterrupted run', () => {
  const checkpoint = join(dir, 'two-steps');
  const uninterrupted = trained([...run, '--steps', '3']);
  trained([...run, '--steps', '2', '--save', checkpoint]);
  const resumed = trained(['--resume', checkpoint, '--steps', '3']);
  assert.deepEqual(resumed.steps.map(({ loss }) => loss), uninterrupted.steps.slice(2).map(({ loss }) => loss));
  assert.equal(resumed.paramChecksum, uninterrupted.paramChecksum);
  const again = trained(['--resume', checkpoint, '--steps', '3', '--seed', '5', '--batch-size', '6', '--embd', '8', '--untied', '--data', text]);
  assert.equal(again.paramChecksum, uninterrupted.paramChecksum, 'flags that agree with the checkpoint are accepted');

  const moved = join(dir, 'moved.txt');
  cpSync(text, moved);
  assert.equal(trained(['--resume', checkpoint, '--steps', '3', '--data', moved]).paramChecksum, uninterrupted.paramChecksum, 'the same text under another name');

  const other = join(dir, 'other.txt');
  writeFileSync(other, 'the dog sat on the log. the cat sat on the mat. '.repeat(20)); // the same characters, another text
  const refusals: [string[], string][] = [
    [['--layers', '3'], `--layers 3 contradicts the checkpoint in ${checkpoint}, which has 2 (n_layer in config.json): leave --layers out to continue it`],
    [['--embd', '16'], `--embd 16 contradicts the checkpoint in ${checkpoint}, which has 8 (n_embd in config.json): leave --embd out to continue it`],
    [['--batch-size', '8'], `--batch-size 8 contradicts the checkpoint in ${checkpoint}, which was trained with --batch-size 6: leave --batch-size out to continue it`],
    [['--seq-len', '4'], `--seq-len 4 contradicts the checkpoint in ${checkpoint}, which was trained with --seq-len 8: leave --seq-len out to continue it`],
    [['--seed', '1337'], `--seed 1337 contradicts the checkpoint in ${checkpoint}, which was trained with --seed 5: leave --seed out to continue it`],
    [['--lr', '3e-4'], `--lr 0.0003 contradicts the checkpoint in ${checkpoint}, which was trained with --lr 0.01: leave --lr out to continue it`],
    [['--microbatches', '4'], `the checkpoint in ${checkpoint} was trained with --batch-size 6, which --microbatches 4 does not divide: use --microbatches 3`],
    // --replicas is not the checkpoint's to decide, but each replica's share must still be whole (a rank failed on 1.5 rows)
    [['--replicas', '2'], `the checkpoint in ${checkpoint} was trained with --batch-size 6, which --microbatches 2 × --replicas 2 = 4 does not divide: use --replicas 1`],
    [['--data', other], `${other} is not the text the checkpoint in ${checkpoint} was trained on (${text}, which has changed since, or another file): resume on that text`],
  ];
  for (const [flags, message] of refusals) {
    const result = conveyor(['train', '--resume', checkpoint, '--steps', '3', ...flags]);
    assert.equal(result.status, 2, `${flags.join(' ')}: ${result.stderr}`);
    assert.equal(result.stderr, `conveyor: ${message}\n`);
    assert.equal(result.stdout, '');
  }
});

test('a tied checkpoint refuses --untied; an untied one is continued untied without it', () => {
  const config = { vocabSize: 3, blockSize: 4, layers: 1, embd: 4, heads: 1, tied: true };
  const tokenizer = CharTokenizer.fromText('abc');
  const options = parseTrainOptions({
    layers: '4', embd: '256', heads: '4', seqLen: '128', batchSize: '16', microbatches: '4', steps: '100', lr: '3e-4',
    weightDecay: '0.1', clip: '1', seed: '1337', untied: true, stages: '2', replicas: '1', schedule: '1f1b', recompute: false, json: false,
  });
  assert.throws(() => resumedOptions(options, new Set(['untied']), 'ck', config, {}), (error: unknown) => error instanceof UsageError && error.message === '--untied contradicts the checkpoint in ck, which has a head tied to its embedding (tie_word_embeddings true): leave --untied out to continue it');
  assert.equal(resumedOptions({ ...options, untied: false }, new Set(), 'ck', { ...config, tied: false }, {}).untied, true);
  // Saved before the run's settings were: the model's shape from config.json, its sequences as long as its positions.
  const old = resumedOptions(options, new Set(['lr']), 'ck', config, { seed: '7' });
  assert.deepEqual([old.layers, old.embd, old.heads, old.seqLen, old.seed, old.batchSize, old.lr], [1, 4, 1, 4, 7, 16, 3e-4]);
  const dirOld = join(dir, 'old');
  const model = buildSegment(config, 0);
  const moments = new Map(model.parameters.map(({ name, data }) => [name, { m: new Float32Array(data.length), v: new Float32Array(data.length) }]));
  saveCheckpoint(dirOld, { config, parameters: model.parameters, tokenizer, training: { optimizer: { step: 1, moments }, samplerPosition: 1, extra: { seed: '7', data: 'builtin:addition' } } });
  assert.deepEqual(readTrainingExtras(dirOld), { seed: '7', data: 'builtin:addition' });
});
