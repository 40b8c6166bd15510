import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONFIG_FILE,
  MODEL_FILE,
  OPTIMIZER_FILE,
  VOCABULARY_FILE,
  loadParameters,
  readCheckpointSpec,
  resumeTraining,
  saveCheckpoint,
  type Checkpoint,
} from '../../src/checkpoint/checkpoint.js';
import { decodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { CharTokenizer } from '../../src/data/tokenizer.js';
import { SplitMix32 } from '../../src/data/random.js';
import type { GPTConfig, Parameter } from '../../src/nn/parameter.js';
import type { Moments, OptimizerState } from '../../src/nn/optimizer.js';
import { buildSegment } from '../../src/nn/segment.js';
import { UsageError } from '../../src/errors.js';

const root = mkdtempSync(join(tmpdir(), 'conveyor-ckpt-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = () => join(root, `c${dirCount++}`);

const tokenizer = CharTokenizer.fromText('abcde');
const tiedConfig: GPTConfig = { vocabSize: 5, blockSize: 6, layers: 2, embd: 4, heads: 2, tied: true };

/** The Hugging Face GPT-2 names and shapes, written out from the model card rather than taken from src/nn. */
function gptShapes(config: GPTConfig): [string, number[]][] {
  const { vocabSize: V, blockSize: T, embd: C, layers } = config;
  const shapes: [string, number[]][] = [['wte.weight', [V, C]], ['wpe.weight', [T, C]]];
  for (let l = 0; l < layers; l++) {
    shapes.push(
      [`h.${l}.ln_1.weight`, [C]], [`h.${l}.ln_1.bias`, [C]],
      [`h.${l}.attn.c_attn.weight`, [C, 3 * C]], [`h.${l}.attn.c_attn.bias`, [3 * C]],
      [`h.${l}.attn.c_proj.weight`, [C, C]], [`h.${l}.attn.c_proj.bias`, [C]],
      [`h.${l}.ln_2.weight`, [C]], [`h.${l}.ln_2.bias`, [C]],
      [`h.${l}.mlp.c_fc.weight`, [C, 4 * C]], [`h.${l}.mlp.c_fc.bias`, [4 * C]],
      [`h.${l}.mlp.c_proj.weight`, [4 * C, C]], [`h.${l}.mlp.c_proj.bias`, [C]],
    );
  }
  shapes.push(['ln_f.weight', [C]], ['ln_f.bias', [C]]);
  // Tied: the head holds its own copy of wte.weight, as a pipeline's last stage does.
  shapes.push(config.tied ? ['wte.weight', [config.vocabSize, C]] : ['lm_head.weight', [config.vocabSize, C]]);
  return shapes;
}

/** Parameters filled from a seed (the same name gets the same values, so tied copies agree), or with a constant. */
function gptParameters(config: GPTConfig, fill: number | { seed: number }): Parameter[] {
  return gptShapes(config).map(([name, shape]) => {
    const data = new Float32Array(shape.reduce((p, s) => p * s, 1));
    if (typeof fill === 'number') data.fill(fill);
    else {
      const random = new SplitMix32(fill.seed + name.length * 7919 + name.charCodeAt(name.length - 8));
      for (let i = 0; i < data.length; i++) data[i] = (random.nextUint32() / 2 ** 32 - 0.5) * (i + 1);
    }
    return { name, shape, data, grad: new Float32Array(data.length) };
  });
}

/** Moments derived from the parameters, so every tensor differs; one entry per name, as AdamW exports them. */
function gptOptimizer(parameters: readonly Parameter[], step: number): OptimizerState {
  return { step, moments: new Map(parameters.map(({ name, data }) => [name, { m: data.map((x) => x / 3), v: data.map((x) => x * x) }])) };
}

function checkpointOf(config: GPTConfig, seed: number): Checkpoint {
  const parameters = gptParameters(config, { seed });
  return { config, parameters, tokenizer, training: { optimizer: gptOptimizer(parameters, 40 + seed), samplerPosition: 41 + seed, extra: { seed: String(seed) } } };
}

const bits = (data: Float32Array) => new Uint32Array(data.buffer, data.byteOffset, data.length);
function assertSameValues(actual: readonly { name: string; data: Float32Array }[], expected: readonly { name: string; data: Float32Array }[]): void {
  assert.deepEqual(actual.map((p) => p.name), expected.map((p) => p.name));
  actual.forEach((p, i) => assert.deepEqual(bits(p.data), bits(expected[i]!.data), p.name));
}
function assertSameMoments(actual: ReadonlyMap<string, Moments>, expected: ReadonlyMap<string, Moments>): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [name, { m, v }] of expected) {
    assert.deepEqual(bits(actual.get(name)!.m), bits(m), `${name} m`);
    assert.deepEqual(bits(actual.get(name)!.v), bits(v), `${name} v`);
  }
}

function filesOf(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).sort().map((name) => [name, readFileSync(join(dir, name))]));
}

const usageErrorNaming = (...parts: (string | RegExp)[]) => (error: unknown) =>
  error instanceof UsageError && !error.message.includes('\n') && parts.every((part) => (typeof part === 'string' ? error.message.includes(part) : part.test(error.message)));

test('a tied checkpoint round-trips bit for bit: weights into both wte copies, moments, step, sampler position', () => {
  const dir = freshDir();
  const saved = checkpointOf(tiedConfig, 1);
  saveCheckpoint(dir, saved);
  assert.deepEqual([...filesOf(dir).keys()], [CONFIG_FILE, MODEL_FILE, OPTIMIZER_FILE, VOCABULARY_FILE].sort());
  const model = decodeSafetensors(readFileSync(join(dir, MODEL_FILE)), MODEL_FILE);
  assert.equal(model.metadata.format, 'pt');
  assert.deepEqual([...model.tensors.keys()].filter((name) => name.startsWith('wte') || name.startsWith('lm_head')), ['wte.weight']);
  assert.equal(model.tensors.size, gptShapes(tiedConfig).length - 1);
  const parameters = gptParameters(tiedConfig, 0);
  const resumed = resumeTraining(dir, parameters);
  assert.equal(resumed.optimizer.step, 41);
  assert.deepEqual([resumed.samplerPosition, resumed.extra], [42, { seed: '1' }]);
  assertSameValues(parameters, saved.parameters);
  assertSameMoments(resumed.optimizer.moments, saved.training!.optimizer.moments);
  const evaluated = gptParameters(tiedConfig, 0);
  loadParameters(dir, evaluated);
  assertSameValues(evaluated, saved.parameters);
});

test("the model's own parameters save under exactly the Hugging Face GPT-2 keys and shapes", () => {
  for (const config of [tiedConfig, { ...tiedConfig, tied: false }]) {
    const dir = freshDir();
    const { parameters } = buildSegment(config, 3);
    saveCheckpoint(dir, { config, parameters, tokenizer });
    const stored = decodeSafetensors(readFileSync(join(dir, MODEL_FILE)), MODEL_FILE).tensors;
    const expected = new Map(gptShapes(config));
    assert.deepEqual(new Map([...stored].map(([name, { shape }]) => [name, shape])), expected);
    const reloaded = buildSegment(config, 4).parameters;
    loadParameters(dir, reloaded);
    assertSameValues(reloaded, parameters);
  }
});

test('config.json carries the Hugging Face GPT-2 fields, and the spec reads back', () => {
  const dir = freshDir();
  const untied = { ...tiedConfig, tied: false };
  saveCheckpoint(dir, { config: untied, parameters: gptParameters(untied, { seed: 2 }), tokenizer });
  const json = JSON.parse(readFileSync(join(dir, CONFIG_FILE), 'utf8'));
  assert.deepEqual(
    { model_type: json.model_type, architectures: json.architectures, n_layer: json.n_layer, n_embd: json.n_embd, n_head: json.n_head, n_positions: json.n_positions, vocab_size: json.vocab_size, tie_word_embeddings: json.tie_word_embeddings, activation_function: json.activation_function, layer_norm_epsilon: json.layer_norm_epsilon },
    { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_layer: 2, n_embd: 4, n_head: 2, n_positions: 6, vocab_size: 5, tie_word_embeddings: false, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5 },
  );
  const spec = readCheckpointSpec(dir);
  assert.deepEqual(spec.config, untied);
  assert.deepEqual(spec.tokenizer.symbols, tokenizer.symbols);
  assert.ok(decodeSafetensors(readFileSync(join(dir, MODEL_FILE)), MODEL_FILE).tensors.has('lm_head.weight'));
  assert.deepEqual(readdirSync(dir).includes(OPTIMIZER_FILE), false);
});

test('saving refuses tied copies that diverged, and writes nothing', () => {
  const dir = freshDir();
  const parameters = gptParameters(tiedConfig, { seed: 3 });
  parameters[parameters.length - 1]!.data[2]! += 1e-6;
  assert.throws(() => saveCheckpoint(dir, { config: tiedConfig, parameters, tokenizer }), /two copies of wte\.weight differ/);
  assert.throws(() => readdirSync(dir), /ENOENT/);
});

test('a tied file into an untied model, an untied file into a tied one, or another width: a usage error naming file and key, nothing copied', () => {
  const tiedDir = freshDir();
  const untiedDir = freshDir();
  const untied = { ...tiedConfig, tied: false };
  saveCheckpoint(tiedDir, { config: tiedConfig, parameters: gptParameters(tiedConfig, { seed: 4 }), tokenizer });
  saveCheckpoint(untiedDir, { config: untied, parameters: gptParameters(untied, { seed: 4 }), tokenizer });
  const cases: [string, Parameter[], RegExp][] = [
    [tiedDir, gptParameters(untied, 7), /has no tensor lm_head\.weight/],
    [untiedDir, gptParameters(tiedConfig, 7), /has tensor lm_head\.weight, which this model does not have/],
    [tiedDir, gptParameters({ ...tiedConfig, embd: 8 }, 7), /tensor wte\.weight has shape \[5,4\] but the model expects \[5,8\]/],
    [tiedDir, gptParameters({ ...tiedConfig, layers: 3 }, 7), /has no tensor h\.2\.ln_1\.weight/],
    [tiedDir, gptParameters({ ...tiedConfig, layers: 1 }, 7), /has tensor h\.1\.ln_1\.weight, which this model does not have/],
  ];
  for (const [dir, parameters, pattern] of cases) {
    assert.throws(() => loadParameters(dir, parameters), usageErrorNaming(join(dir, MODEL_FILE), pattern));
    for (const { data } of parameters) assert.ok(data.every((x) => x === 7), 'nothing was copied');
  }
});

/** Each corruption of a saved checkpoint, applied to a fresh copy. */
const corruptions: [string, string, (path: string) => void, RegExp][] = [
  ['model deleted', MODEL_FILE, (path) => rmSync(path), /does not exist/],
  ['model emptied', MODEL_FILE, (path) => writeFileSync(path, ''), /is empty/],
  ['model truncated', MODEL_FILE, (path) => writeFileSync(path, readFileSync(path).subarray(0, -5)), /ends at byte \d+ but the data section has only/],
  ['model header garbled', MODEL_FILE, (path) => { const b = readFileSync(path); b[9] = 0x7b; writeFileSync(path, b); }, /header is not JSON/],
  ['model data bit flipped', MODEL_FILE, (path) => { const b = readFileSync(path); b[b.length - 3]! ^= 0x10; writeFileSync(path, b); }, /is corrupt: its tensor data does not match the digest/],
  ['optimizer deleted', OPTIMIZER_FILE, (path) => rmSync(path), /does not exist/],
  ['optimizer truncated', OPTIMIZER_FILE, (path) => writeFileSync(path, readFileSync(path).subarray(0, 100)), /truncated\?/],
  ['optimizer data bit flipped', OPTIMIZER_FILE, (path) => { const b = readFileSync(path); b[b.length - 1]! ^= 0x01; writeFileSync(path, b); }, /is corrupt/],
];

test('every corruption is a one-line usage error naming the file, and nothing is half-loaded', () => {
  const source = freshDir();
  saveCheckpoint(source, checkpointOf(tiedConfig, 5));
  for (const [label, file, corrupt, pattern] of corruptions) {
    const dir = freshDir();
    fs.cpSync(source, dir, { recursive: true });
    corrupt(join(dir, file));
    const parameters = gptParameters(tiedConfig, 7);
    assert.throws(() => resumeTraining(dir, parameters), usageErrorNaming(join(dir, file), pattern), label);
    if (file === MODEL_FILE) assert.throws(() => loadParameters(dir, parameters), usageErrorNaming(join(dir, file), pattern), label);
    for (const { data } of parameters) assert.ok(data.every((x) => x === 7), `${label}: parameters untouched`);
  }
});

test('a bad config.json or vocabulary is a usage error naming the file and field', () => {
  const source = freshDir();
  saveCheckpoint(source, { config: tiedConfig, parameters: gptParameters(tiedConfig, { seed: 6 }), tokenizer });
  const config = JSON.parse(readFileSync(join(source, CONFIG_FILE), 'utf8'));
  const cases: [string, string, RegExp][] = [
    [CONFIG_FILE, '{"model_type": "gpt2",', /config\.json is not valid JSON/],
    [CONFIG_FILE, JSON.stringify({ ...config, model_type: 'llama' }), /config\.json: model_type: expected "gpt2", got "llama"/],
    [CONFIG_FILE, JSON.stringify({ ...config, activation_function: 'relu' }), /config\.json: activation_function: expected "gelu_new", got "relu"/],
    [CONFIG_FILE, JSON.stringify({ ...config, n_layer: 0 }), /config\.json: n_layer: expected a whole number ≥ 1, got 0/],
    [CONFIG_FILE, JSON.stringify({ ...config, n_head: 3 }), /n_embd 4 is not divisible by n_head 3/],
    [CONFIG_FILE, JSON.stringify({ ...config, vocab_size: 6 }), /has 5 symbols but .*config\.json says vocab_size 6/],
    [VOCABULARY_FILE, '{"kind": "characters", "symbols": ["b", "a"]}', /vocabulary\.json: symbols are not distinct and sorted at id 1/],
  ];
  for (const [file, text, pattern] of cases) {
    const dir = freshDir();
    fs.cpSync(source, dir, { recursive: true });
    writeFileSync(join(dir, file), text);
    assert.throws(() => readCheckpointSpec(dir), usageErrorNaming(pattern), `${file}: ${text}`);
  }
});

test('a save that fails between writing and renaming leaves the previous checkpoint intact and no temporary files', () => {
  const dir = freshDir();
  saveCheckpoint(dir, checkpointOf(tiedConfig, 8));
  const before = filesOf(dir);
  const rename = fs.renameSync;
  fs.renameSync = () => {
    throw new Error('simulated failure before rename');
  };
  syncBuiltinESMExports();
  try {
    assert.throws(() => saveCheckpoint(dir, checkpointOf(tiedConfig, 9)), /simulated failure before rename/);
  } finally {
    fs.renameSync = rename;
    syncBuiltinESMExports();
  }
  assert.deepEqual(filesOf(dir), before);
});

/** Saves checkpointOf(tiedConfig, 10) over `dir` in a child process that is killed at its n-th rename. */
function saveKilledAtRename(dir: string, n: number): void {
  const modules = ['checkpoint/checkpoint.js', 'data/tokenizer.js'].map((path) => new URL(`../../src/${path}`, import.meta.url).href);
  const checkpoint = checkpointOf(tiedConfig, 10);
  const payload = JSON.stringify({
    dir,
    config: checkpoint.config,
    parameters: checkpoint.parameters.map(({ name, shape, data }) => ({ name, shape, data: [...data] })),
    moments: [...checkpoint.training!.optimizer.moments].map(([name, { m, v }]) => ({ name, m: [...m], v: [...v] })),
  });
  const script = `
    import fs from 'node:fs';
    import { syncBuiltinESMExports } from 'node:module';
    const { saveCheckpoint } = await import(${JSON.stringify(modules[0])});
    const { CharTokenizer } = await import(${JSON.stringify(modules[1])});
    const input = JSON.parse(process.env.CHECKPOINT_JSON);
    const rename = fs.renameSync;
    let renames = 0;
    fs.renameSync = (from, to) => {
      if (++renames === ${n}) process.kill(process.pid, 'SIGKILL');
      return rename(from, to);
    };
    syncBuiltinESMExports();
    const f32 = (values) => Float32Array.from(values);
    saveCheckpoint(input.dir, {
      config: input.config,
      tokenizer: CharTokenizer.fromText('abcde'),
      parameters: input.parameters.map((p) => ({ ...p, data: f32(p.data), grad: new Float32Array(p.data.length) })),
      training: { samplerPosition: 51, optimizer: { step: 50, moments: new Map(input.moments.map(({ name, m, v }) => [name, { m: f32(m), v: f32(v) }])) } },
    });`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, CHECKPOINT_JSON: payload }, encoding: 'utf8' });
  assert.equal(child.signal, 'SIGKILL', child.stderr);
}

test('a process killed before its first rename leaves the previous checkpoint loadable and unchanged', () => {
  const dir = freshDir();
  const previous = checkpointOf(tiedConfig, 8);
  saveCheckpoint(dir, previous);
  const before = filesOf(dir);
  saveKilledAtRename(dir, 1);
  const after = filesOf(dir);
  for (const [name, bytes] of before) assert.deepEqual(after.get(name), bytes, name);
  assert.ok([...after.keys()].filter((name) => !before.has(name)).every((name) => name.includes('.tmp-')), 'only staged files are new');
  const parameters = gptParameters(tiedConfig, 0);
  assert.equal(resumeTraining(dir, parameters).optimizer.step, 48);
  assertSameValues(parameters, previous.parameters);
});

test('the next save into a directory removes what a killed writer left, and leaves a running writer\'s files alone', () => {
  const dir = freshDir();
  saveCheckpoint(dir, checkpointOf(tiedConfig, 8));
  saveKilledAtRename(dir, 1);
  const left = [...filesOf(dir).keys()].filter((name) => name.includes('.tmp-'));
  assert.equal(left.length, 4, 'the killed save left its four staged files');
  const running = `.model.safetensors.tmp-${process.pid === 1 ? 2 : 1}-0123abcd`; // pid 1 always runs
  writeFileSync(join(dir, running), 'another process is writing this');
  saveCheckpoint(dir, checkpointOf(tiedConfig, 9));
  assert.deepEqual([...filesOf(dir).keys()].filter((name) => name.includes('.tmp-')), [running]);
  assert.equal(resumeTraining(dir, gptParameters(tiedConfig, 0)).optimizer.step, 49);
});

test('a process killed between renames (optimizer replaced, model not yet) is detected on resume, never mixed', () => {
  const dir = freshDir();
  const previous = checkpointOf(tiedConfig, 8);
  saveCheckpoint(dir, previous);
  saveKilledAtRename(dir, 4); // vocabulary, config and optimizer renamed; the model is renamed last
  const parameters = gptParameters(tiedConfig, 7);
  assert.throws(() => resumeTraining(dir, parameters), usageErrorNaming(join(dir, OPTIMIZER_FILE), 'belongs to a different save'));
  for (const { data } of parameters) assert.ok(data.every((x) => x === 7));
  loadParameters(dir, parameters); // the weights themselves are still the previous, complete model
  assertSameValues(parameters, previous.parameters);
});
