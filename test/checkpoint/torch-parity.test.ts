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
import { missingPython, python } from '../python.js';

const script = new URL('../../../scripts/torch_reference.py', import.meta.url).pathname;
const bin = new URL('../../../bin/conveyor.js', import.meta.url).pathname;
const skip = missingPython('torch, numpy');
const skipTransformers = skip || missingPython('transformers');

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

function torchLoss(checkpoint: string, rowsFile: string, ...flags: string[]): number {
  const result = spawnSync(python, [script, checkpoint, rowsFile, ...flags], { encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1' } });
  assert.equal(result.status, 0, result.stderr);
  return (JSON.parse(result.stdout) as { loss: number }).loss;
}

/** [label, model, T, also against float64] */
const cases: [string, GPTConfig, number, boolean][] = [
  ['tied', { vocabSize: 23, blockSize: 24, layers: 3, embd: 32, heads: 4, tied: true }, 24, true],
  ['untied, rows shorter than n_positions', { vocabSize: 23, blockSize: 24, layers: 2, embd: 48, heads: 3, tied: false }, 17, false],
];

/** Saves a perturbed model and random rows; returns where, and our model's loss on the rows. */
function prepare(label: string, config: GPTConfig, T: number): { checkpoint: string; rowsFile: string; ours: number } {
  const model = buildSegment(config, 1);
  perturb(model.parameters, 2);
  const checkpoint = join(dir, label);
  saveCheckpoint(checkpoint, { config, parameters: model.parameters, tokenizer: CharTokenizer.fromText('abcdefghijklmnopqrstuvw') });
  const rows = randomRows(5, T, config.vocabSize, 3);
  const rowsFile = join(dir, `${label}.json`);
  writeFileSync(rowsFile, JSON.stringify(rows));
  const tokens = Int32Array.from(rows.flatMap((row) => row.slice(0, -1)));
  const targets = Int32Array.from(rows.flatMap((row) => row.slice(1)));
  return { checkpoint, rowsFile, ours: model.forward(null, { B: rows.length, T, tokens, targets }) as number };
}

for (const [label, config, T, againstFloat64] of cases) {
  test(`PyTorch computes the same loss on the saved checkpoint (${label})`, { skip }, () => {
    const { checkpoint, rowsFile, ours } = prepare(label, config, T);
    const float32 = torchLoss(checkpoint, rowsFile, '--dtype', 'float32');
    assert.ok(Math.abs(float32 - Math.log(config.vocabSize)) > 0.2, `the weights are far from uniform (loss ${float32})`);
    assert.ok(Math.abs(ours - float32) / float32 < 1e-5, `ours ${ours} vs torch float32 ${float32}`);
    const cli = spawnSync(process.execPath, [bin, 'eval', '--checkpoint', checkpoint, '--tokens', rowsFile, '--json'], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const evaluated = (JSON.parse(cli.stdout) as { loss: number }).loss;
    assert.ok(Math.abs(evaluated - float32) / float32 < 1e-5, `conveyor eval ${evaluated} vs torch float32 ${float32}`);
    if (againstFloat64) {
      const float64 = torchLoss(checkpoint, rowsFile, '--dtype', 'float64');
      assert.ok(Math.abs(ours - float64) / float64 < 1e-5, `ours ${ours} vs torch float64 ${float64}`);
    }
  });

  test(`Hugging Face GPT2LMHeadModel.from_pretrained loads the checkpoint and gives the same loss (${label})`, { skip: skipTransformers }, () => {
    const { checkpoint, rowsFile, ours } = prepare(`${label}, transformers`, config, T);
    const loss = torchLoss(checkpoint, rowsFile, '--transformers');
    assert.ok(Math.abs(ours - loss) / loss < 1e-5, `ours ${ours} vs transformers ${loss}`);
  });
}
