import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODEL_FILE, saveCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { CharTokenizer } from '../../src/data/tokenizer.js';
import { SplitMix32 } from '../../src/data/random.js';
import { buildSegment } from '../../src/nn/segment.js';
import type { GPTConfig } from '../../src/nn/parameter.js';

const bin = new URL('../../../bin/conveyor.js', import.meta.url).pathname;
const run = promisify(execFile);

/** Runs the real CLI; resolves with exit code, stdout and stderr whatever the code. */
async function conveyor(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const dir = mkdtempSync(join(tmpdir(), 'conveyor-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const text = 'the cat sat on the mat.\nthe dog sat on the log.\n';
const tokenizer = CharTokenizer.fromText(text);
const config: GPTConfig = { vocabSize: tokenizer.vocabSize, blockSize: 16, layers: 2, embd: 16, heads: 2, tied: true };
const model = buildSegment(config, 1);
// Spread the weights so the model has opinions (init std 0.02 gives near-uniform predictions).
for (const { name, data } of model.parameters) {
  const random = new SplitMix32(name.length * 131 + name.charCodeAt(name.length - 6));
  if (!name.includes('ln')) for (let i = 0; i < data.length; i++) data[i] = 0.5 * (random.nextFloat() - 0.5);
}
const checkpoint = join(dir, 'ckpt');
saveCheckpoint(checkpoint, { config, parameters: model.parameters, tokenizer });
const V = config.vocabSize;

/** -log p(target) summed over the windows, in float64, from the model's probabilities (not its loss path). */
function referenceLoss(tokens: Int32Array, T: number): number {
  let sum = 0;
  let count = 0;
  for (let start = 0; start + 1 < tokens.length; start += T) {
    const length = Math.min(T, tokens.length - 1 - start);
    const probs = model.probabilities({ B: 1, T: length, tokens: tokens.slice(start, start + length) });
    for (let t = 0; t < length; t++) sum -= Math.log(probs[t * V + tokens[start + t + 1]!]!);
    count += length;
  }
  return sum / count;
}

test('eval --data: mean next-token loss over every character of the file', async () => {
  const file = join(dir, 'text.txt');
  writeFileSync(file, text); // 48 characters: two full windows of 16 and a remainder of 15
  const { code, stdout, stderr } = await conveyor('eval', '--checkpoint', checkpoint, '--data', file, '--json');
  assert.equal(code, 0, stderr);
  const result = JSON.parse(stdout) as { loss: number; tokens: number };
  assert.equal(result.tokens, text.length - 1);
  const expected = referenceLoss(tokenizer.encode(text), config.blockSize);
  assert.ok(Math.abs(result.loss - expected) / expected < 1e-5, `${result.loss} vs ${expected}`);
  assert.ok(expected > 0.5, 'the loss is not trivial');
});

test('eval --tokens: rows of T+1 ids, and the plain-text summary', async () => {
  const rows = [tokenizer.encode('the cat sat'), tokenizer.encode('on the mat.')].map((row) => [...row]);
  const file = join(dir, 'rows.json');
  writeFileSync(file, JSON.stringify(rows));
  const json = await conveyor('eval', '--checkpoint', checkpoint, '--tokens', file, '--json');
  assert.equal(json.code, 0, json.stderr);
  const { loss } = JSON.parse(json.stdout) as { loss: number };
  const expected = (referenceLoss(Int32Array.from(rows[0]!), 16) + referenceLoss(Int32Array.from(rows[1]!), 16)) / 2;
  assert.ok(Math.abs(loss - expected) / expected < 1e-5, `${loss} vs ${expected}`);
  const plain = await conveyor('eval', '--checkpoint', checkpoint, '--tokens', file);
  assert.match(plain.stdout, /^loss \d+\.\d{6} over 20 predicted tokens\n$/);
});

test('sample at temperature 0 continues with the most likely character each time; a seed fixes a sampled text', async () => {
  const greedy = await conveyor('sample', '--checkpoint', checkpoint, '--prompt', 'the ', '--tokens', '20', '--temperature', '0');
  assert.equal(greedy.code, 0, greedy.stderr);
  const ids = [...tokenizer.encode('the ')];
  for (let i = 0; i < 20; i++) {
    const context = Int32Array.from(ids.slice(-config.blockSize));
    const probs = model.probabilities({ B: 1, T: context.length, tokens: context });
    const last = Array.from(probs.subarray((context.length - 1) * V, context.length * V));
    ids.push(last.indexOf(Math.max(...last)));
  }
  assert.equal(greedy.stdout, `${tokenizer.decode(ids)}\n`);
  const sampled = await Promise.all(['1', '1', '2'].map((seed) => conveyor('sample', '--checkpoint', checkpoint, '--prompt', 'the', '--tokens', '40', '--seed', seed)));
  for (const { code, stdout } of sampled) {
    assert.equal(code, 0);
    assert.equal([...stdout].length, 3 + 40 + 1);
    assert.ok(stdout.startsWith('the'));
  }
  assert.equal(sampled[0]!.stdout, sampled[1]!.stdout);
  assert.notEqual(sampled[0]!.stdout, sampled[2]!.stdout);
});

test('bad flags, files and sequences: one line on stderr naming the problem, exit code 2', async () => {
  const write = (name: string, content: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const tooLong = write('long.json', JSON.stringify([Array.from({ length: 18 }, () => 1)]));
  const ragged = write('ragged.json', '[[1,2,3],[1,2]]');
  const outside = write('outside.json', `[[1,2,${V}]]`);
  const notJson = write('bad.json', '[[1,2,');
  const empty = write('empty.txt', '');
  const latin1 = write('latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  const unknownChar = write('unknown.txt', 'the cat sat on the mat!');
  const truncated = join(dir, 'truncated');
  saveCheckpoint(truncated, { config, parameters: model.parameters, tokenizer });
  writeFileSync(join(truncated, MODEL_FILE), readFileSync(join(truncated, MODEL_FILE)).subarray(0, 500));
  const cases: [string[], RegExp][] = [
    [['eval', '--tokens', tooLong], /^conveyor: conveyor eval needs --checkpoint <dir>$/m],
    [['eval', '--checkpoint', checkpoint], /give exactly one of --tokens FILE\.json or --data FILE/],
    [['eval', '--checkpoint', checkpoint, '--tokens', tooLong, '--data', empty], /give exactly one of/],
    [['eval', '--checkpoint', join(dir, 'nowhere'), '--data', unknownChar], /nowhere\/config\.json does not exist/],
    [['eval', '--checkpoint', truncated, '--data', unknownChar.replace('unknown', 'missing')], /missing\.txt does not exist/],
    [['eval', '--checkpoint', truncated, '--tokens', outside.replace('outside', 'x')], /x\.json does not exist/],
    [['eval', '--checkpoint', checkpoint, '--tokens', tooLong], /18 ids give 17 inputs, more than the model's n_positions 16/],
    [['eval', '--checkpoint', checkpoint, '--tokens', ragged], /row 1 is not a list of 3 token ids/],
    [['eval', '--checkpoint', checkpoint, '--tokens', outside], new RegExp(`row 0, position 2 is ${V}, expected a token id in \\[0, ${V}\\)`)],
    [['eval', '--checkpoint', checkpoint, '--tokens', notJson], /bad\.json is not valid JSON/],
    [['eval', '--checkpoint', checkpoint, '--data', empty], /empty\.txt is empty/],
    [['eval', '--checkpoint', checkpoint, '--data', latin1], /latin1\.txt is not valid UTF-8/],
    [['eval', '--checkpoint', checkpoint, '--data', unknownChar], /unknown\.txt contains "!"/],
    [['eval', '--checkpoint', truncated, '--tokens', ragged.replace('ragged', 'rows')], /truncated\/model\.safetensors is not a valid safetensors checkpoint/],
    [['eval', '--checkpoint', checkpoint, '--data', empty, '--bogus'], /^conveyor: '--bogus' is not an option of conveyor eval/],
    [['sample', '--checkpoint', checkpoint, '--prompt', 'the', '--tokens', 'ten'], /^conveyor: --tokens must be a whole number ≥ 0, got 'ten'$/m],
    [['sample', '--checkpoint', checkpoint, '--prompt', 'the', '--temperature', '-1'], /^conveyor: --temperature must be a number ≥ 0, got '-1'$/m],
    [['sample', '--checkpoint', checkpoint, '--prompt', 'the cat sat on the mat'], /the prompt has 22 characters, more than the model's n_positions 16/],
    [['sample', '--checkpoint', checkpoint, '--prompt', 'the ox'], /the prompt contains "x"/],
    [['sample', '--checkpoint', checkpoint, '--prompt', ''], /the prompt is empty/],
  ];
  const results = await Promise.all(cases.map(([args]) => conveyor(...args)));
  results.forEach(({ code, stdout, stderr }, i) => {
    const [args, pattern] = cases[i]!;
    const label = args.join(' ');
    assert.equal(code, 2, `${label}: ${stderr}`);
    assert.equal(stdout, '', label);
    assert.equal(stderr.trimEnd().split('\n').length, 1, `${label}: ${stderr}`);
    assert.match(stderr, /^conveyor: /, label);
    assert.match(stderr, pattern, `${label}: ${stderr}`);
  });
});
