import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { CharTokenizer } from '../../src/data/tokenizer.js';
import { SplitMix32, mix32 } from '../../src/data/random.js';
import { buildSegment } from '../../src/nn/segment.js';
import type { GPTConfig, Parameter } from '../../src/nn/parameter.js';

const python = '/usr/bin/python3';
const script = new URL('../../../scripts/torch_reference.py', import.meta.url).pathname;
const probe = spawnSync(python, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
const skip = probe.status === 0 ? false : `${python} cannot import torch and numpy (${(probe.error?.message ?? probe.stderr.trim().split('\n').pop()) || 'unknown reason'})`;

const dir = mkdtempSync(join(tmpdir(), 'conveyor-torch-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Uniform in [-scale, scale) from a stream named by the parameter, so tied copies get the same values. */
function perturb(parameters: readonly Parameter[], seed: number): void {
  for (const { name, data } of parameters) {
    let nameHash = seed;
    for (const char of name) nameHash = mix32(nameHash ^ char.codePointAt(0)!);
    const random = new SplitMix32(nameHash);
    const centre = /ln_\d|ln_f/.test(name) && name.endsWith('weight') ? 1 : 0;
    for (let i = 0; i < data.length; i++) data[i] = centre + 0.6 * (random.nextUint32() / 2 ** 32 - 0.5);
  }
}

/** rows [B, T+1] of random ids, as eval --tokens takes them. */
function randomRows(B: number, T: number, V: number, seed: number): number[][] {
  const random = new SplitMix32(seed);
  return Array.from({ length: B }, () => Array.from({ length: T + 1 }, () => random.nextBelow(V)));
}

function torchLoss(checkpoint: string, rowsFile: string, dtype: 'float32' | 'float64'): number {
  const result = spawnSync(python, [script, checkpoint, rowsFile, '--dtype', dtype], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return (JSON.parse(result.stdout) as { loss: number }).loss;
}

/** [label, model, T, also against float64] */
const cases: [string, GPTConfig, number, boolean][] = [
  ['tied', { vocabSize: 23, blockSize: 24, layers: 3, embd: 32, heads: 4, tied: true }, 24, true],
  ['untied, rows shorter than n_positions', { vocabSize: 23, blockSize: 24, layers: 2, embd: 48, heads: 3, tied: false }, 17, false],
];

for (const [label, config, T, againstFloat64] of cases) {
  test(`PyTorch computes the same loss on the saved checkpoint (${label})`, { skip }, () => {
    const model = buildSegment(config, 1);
    perturb(model.parameters, 2);
    const checkpoint = join(dir, label);
    const tokenizer = CharTokenizer.fromText('abcdefghijklmnopqrstuvw');
    saveCheckpoint(checkpoint, { config, parameters: model.parameters, tokenizer });
    const rows = randomRows(5, T, config.vocabSize, 3);
    const rowsFile = join(dir, `${label}.json`);
    writeFileSync(rowsFile, JSON.stringify(rows));
    const tokens = Int32Array.from(rows.flatMap((row) => row.slice(0, -1)));
    const targets = Int32Array.from(rows.flatMap((row) => row.slice(1)));
    const ours = model.forward(null, { B: rows.length, T, tokens, targets }) as number;
    const float32 = torchLoss(checkpoint, rowsFile, 'float32');
    assert.ok(Math.abs(float32 - Math.log(config.vocabSize)) > 0.2, `the weights are far from uniform (loss ${float32})`);
    assert.ok(Math.abs(ours - float32) / float32 < 1e-5, `ours ${ours} vs torch float32 ${float32}`);
    if (againstFloat64) {
      const float64 = torchLoss(checkpoint, rowsFile, 'float64');
      assert.ok(Math.abs(ours - float64) / float64 < 1e-5, `ours ${ours} vs torch float64 ${float64}`);
    }
  });
}
