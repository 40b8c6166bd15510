import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { quote } from '../quote.js';
import type { GPTConfig, Parameter } from '../nn/parameter.js';
import type { OptimizerState } from '../nn/optimizer.js';
import { CharTokenizer } from '../data/tokenizer.js';
import { readFileStart, readNonEmptyFile, readTextFile } from '../data/text-file.js';
import { writeFilesAtomically } from './atomic-write.js';
import { configFromJson, configToJson } from './config.js';
import { decodeSafetensors, decodeSafetensorsMetadata, encodeSafetensors, headerBytes, tensorBytes, type NamedTensor, type SafetensorsContents } from './safetensors.js';

/**
 * A checkpoint is a directory: model.safetensors + config.json (what Hugging Face's GPT2LMHeadModel loads),
 * vocabulary.json (our character tokenizer) and, for resuming, optimizer.safetensors.
 */
export const MODEL_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';
export const VOCABULARY_FILE = 'vocabulary.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
/** Every file a checkpoint directory may hold. */
export const CHECKPOINT_FILES: readonly string[] = [MODEL_FILE, CONFIG_FILE, VOCABULARY_FILE, OPTIMIZER_FILE];

/** Everything besides the weights that a resumed run needs to continue exactly. */
export interface TrainingState {
  /** AdamW's step count and moments by parameter name (AdamW.exportState()). */
  readonly optimizer: OptimizerState;
  /** Batches the sampler has drawn. */
  readonly samplerPosition: number;
  /** The trainer's own string fields (seed, data source, ...), kept verbatim. */
  readonly extra?: Readonly<Record<string, string>>;
}

export interface Checkpoint {
  readonly config: GPTConfig;
  /** By Hugging Face name; a tied head's copy of wte.weight may appear twice and is saved once. */
  readonly parameters: readonly Parameter[];
  readonly tokenizer: CharTokenizer;
  /** Omitted: no optimizer.safetensors is written (a model to evaluate or sample, not to resume). */
  readonly training?: TrainingState;
}

/** The shape of the model a checkpoint holds, enough to build it before loading the weights. */
export interface CheckpointSpec {
  readonly config: GPTConfig;
  readonly tokenizer: CharTokenizer;
}

/** A resumed run's state; the weights were copied into the caller's parameters, the optimizer goes to AdamW.importState. */
export interface ResumedTraining {
  readonly optimizer: OptimizerState;
  readonly samplerPosition: number;
  readonly extra: Readonly<Record<string, string>>;
}

// Metadata keys. The data digests catch flipped bits that would still parse as floats; the model digest
// in the optimizer file ties the two together, so a save torn between renames is detected, not resumed.
const FORMAT = 'format'; // Hugging Face's loader requires "pt"
const DATA_SHA256 = 'conveyor.data_sha256';
const MODEL_SHA256 = 'conveyor.model_sha256';
const STEP = 'conveyor.step';
const SAMPLER_POSITION = 'conveyor.sampler_position';
const EXTRA_PREFIX = 'extra.';

const EXP_AVG = '.exp_avg';
const CHECKPOINT_EXPECTED = 'a checkpoint directory saved by Conveyor (--save DIR)';
const EXP_AVG_SQ = '.exp_avg_sq';

/** Writes all four files atomically (see writeFilesAtomically); the model file is renamed last. */
export function saveCheckpoint(dir: string, checkpoint: Checkpoint): void {
  const { config, parameters, tokenizer, training } = checkpoint;
  if (config.vocabSize !== tokenizer.vocabSize) throw new Error(`config vocabSize ${config.vocabSize} differs from the tokenizer's ${tokenizer.vocabSize}`);
  const weights = distinctTensors(parameters);
  if (weights.some(({ name }) => name === 'lm_head.weight') === config.tied) {
    throw new Error(`a ${config.tied ? 'tied' : 'untied'} model must ${config.tied ? 'not ' : ''}have lm_head.weight`);
  }
  const modelData = tensorBytes(weights);
  const modelDigest = sha256(modelData);
  const files = [
    { name: VOCABULARY_FILE, bytes: jsonBytes(tokenizer.toJson()) },
    { name: CONFIG_FILE, bytes: jsonBytes(configToJson(config)) },
  ];
  if (training) files.push({ name: OPTIMIZER_FILE, bytes: encodeOptimizer(weights, training, modelDigest) });
  files.push({ name: MODEL_FILE, bytes: encodeSafetensors(weights, { [FORMAT]: 'pt', [DATA_SHA256]: modelDigest }, modelData) });
  writeFilesAtomically(dir, files);
}

function encodeOptimizer(weights: readonly NamedTensor[], training: TrainingState, modelDigest: string): Uint8Array {
  const { step, moments } = training.optimizer;
  const tensors = weights.flatMap(({ name, shape }) => {
    const moment = moments.get(name);
    if (!moment) throw new Error(`no optimizer moments for parameter ${name}`);
    return [{ name: name + EXP_AVG, shape, data: moment.m }, { name: name + EXP_AVG_SQ, shape, data: moment.v }];
  });
  const stray = [...moments.keys()].find((name) => !weights.some((weight) => weight.name === name));
  if (stray) throw new Error(`optimizer moments for ${stray}, which is not a parameter`);
  const data = tensorBytes(tensors);
  const metadata: Record<string, string> = {
    [FORMAT]: 'pt',
    [DATA_SHA256]: sha256(data),
    [MODEL_SHA256]: modelDigest,
    [STEP]: String(step),
    [SAMPLER_POSITION]: String(training.samplerPosition),
  };
  for (const [key, value] of Object.entries(training.extra ?? {})) metadata[EXTRA_PREFIX + key] = value;
  return encodeSafetensors(tensors, metadata, data);
}

/** Reads config.json and vocabulary.json and checks they agree. */
export function readCheckpointSpec(dir: string): CheckpointSpec {
  requireFolder(dir);
  const configPath = join(dir, CONFIG_FILE);
  const vocabularyPath = join(dir, VOCABULARY_FILE);
  const config = configFromJson(parseJson(readTextFile(configPath, CHECKPOINT_EXPECTED), configPath), configPath);
  const tokenizer = CharTokenizer.fromJson(parseJson(readTextFile(vocabularyPath, CHECKPOINT_EXPECTED), vocabularyPath), vocabularyPath);
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new UsageError(`${vocabularyPath} has ${tokenizer.vocabSize} symbols but ${configPath} says vocab_size ${config.vocabSize}`);
  }
  return { config, tokenizer };
}

/**
 * The trainer's own fields of a resumable checkpoint (seed, data source, batch size, …) from the header of
 * optimizer.safetensors alone, so a resumed run can be checked against its flags before any tensor is read.
 */
export function readTrainingExtras(dir: string): Readonly<Record<string, string>> {
  const optimizerPath = join(dir, OPTIMIZER_FILE);
  const { start } = readFileStart(optimizerPath, 8, CHECKPOINT_EXPECTED);
  const header = readFileStart(optimizerPath, headerBytes(start, optimizerPath), CHECKPOINT_EXPECTED);
  return extrasOf(decodeSafetensorsMetadata(header.start, header.size, optimizerPath));
}

function extrasOf(metadata: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(metadata)
      .filter(([key]) => key.startsWith(EXTRA_PREFIX))
      .map(([key, value]) => [key.slice(EXTRA_PREFIX.length), value]),
  );
}

/** Copies the weights of model.safetensors into the given parameters, after checking every name and shape. */
export function loadParameters(dir: string, parameters: readonly Parameter[]): void {
  const modelPath = join(dir, MODEL_FILE);
  const model = readSafetensors(modelPath);
  checkTensors(modelPath, model, distinctTensors(parameters));
  copyInto(model, parameters);
}

/**
 * Loads weights and optimizer state for an exact resume. Both files are fully checked, and must come
 * from the same save, before any weight is copied; the moments come back as new arrays.
 */
export function resumeTraining(dir: string, parameters: readonly Parameter[]): ResumedTraining {
  const modelPath = join(dir, MODEL_FILE);
  const optimizerPath = join(dir, OPTIMIZER_FILE);
  const model = readSafetensors(modelPath);
  const optimizer = readSafetensors(optimizerPath);
  const weights = distinctTensors(parameters);
  checkTensors(modelPath, model, weights);
  checkTensors(optimizerPath, optimizer, weights.flatMap(({ name, shape }) => [{ name: name + EXP_AVG, shape }, { name: name + EXP_AVG_SQ, shape }]));
  if (optimizer.metadata[MODEL_SHA256] !== sha256(model.dataBytes)) {
    throw new UsageError(`${optimizerPath} belongs to a different save than ${modelPath} (a save was interrupted, or files were mixed); resume from another checkpoint`);
  }
  const step = metadataCount(optimizerPath, optimizer, STEP);
  const samplerPosition = metadataCount(optimizerPath, optimizer, SAMPLER_POSITION);
  const extra = extrasOf(optimizer.metadata);
  const moments = new Map(weights.map(({ name }) => [name, { m: optimizer.tensors.get(name + EXP_AVG)!.data, v: optimizer.tensors.get(name + EXP_AVG_SQ)!.data }]));
  copyInto(model, parameters);
  return { optimizer: { step, moments }, samplerPosition, extra };
}

/** A checkpoint is a folder; a file given as one is named as such, not as a missing config.json inside it. */
function requireFolder(dir: string): void {
  let stats;
  try {
    stats = statSync(dir);
  } catch {
    return; // missing: the missing config.json says so
  }
  if (!stats.isDirectory()) throw new UsageError(`${dir} is a file, not ${CHECKPOINT_EXPECTED}`);
}

function readSafetensors(path: string): SafetensorsContents {
  const contents = decodeSafetensors(readNonEmptyFile(path, CHECKPOINT_EXPECTED), path);
  const digest = contents.metadata[DATA_SHA256];
  if (digest !== undefined && digest !== sha256(contents.dataBytes)) {
    throw new UsageError(`${path} is corrupt: its tensor data does not match the digest recorded when it was saved`);
  }
  return contents;
}

/** The file must hold exactly the expected tensors, each with the expected shape. */
function checkTensors(path: string, contents: SafetensorsContents, expected: readonly { name: string; shape: readonly number[] }[]): void {
  for (const { name, shape } of expected) {
    const stored = contents.tensors.get(name);
    if (!stored) throw new UsageError(`${path} has no tensor ${name}; it was saved from a different model`);
    if (stored.shape.length !== shape.length || stored.shape.some((size, i) => size !== shape[i])) {
      throw new UsageError(`${path}: tensor ${name} has shape [${stored.shape}] but the model expects [${shape}]`);
    }
  }
  for (const name of contents.tensors.keys()) {
    if (!expected.some((tensor) => tensor.name === name)) throw new UsageError(`${path} has tensor ${name}, which this model does not have (tied vs untied head, or another model)`);
  }
}

function copyInto(contents: SafetensorsContents, targets: readonly { name: string; data: Float32Array }[]): void {
  for (const { name, data } of targets) data.set(contents.tensors.get(name)!.data);
}

function metadataCount(path: string, contents: SafetensorsContents, key: string): number {
  const text = contents.metadata[key];
  const value = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new UsageError(`${path}: metadata ${key} is ${text === undefined ? 'missing' : quote(text)}, expected a non-negative integer`);
  }
  return value;
}

/**
 * One tensor per name. A repeated name (a tied head's copy of wte.weight, held by two pipeline stages)
 * must be bitwise identical to its first occurrence: diverged copies are a bug, not something to save.
 */
function distinctTensors(tensors: readonly NamedTensor[]): NamedTensor[] {
  const byName = new Map<string, NamedTensor>();
  for (const tensor of tensors) {
    const first = byName.get(tensor.name);
    if (!first) {
      byName.set(tensor.name, tensor);
    } else if (first.data !== tensor.data && !sameBits(first, tensor)) {
      throw new Error(`two copies of ${tensor.name} differ; tied copies must stay identical`);
    }
  }
  return [...byName.values()];
}

function sameBits(a: NamedTensor, b: NamedTensor): boolean {
  if (a.shape.join() !== b.shape.join() || a.data.length !== b.data.length) return false;
  const x = new Uint32Array(a.data.buffer, a.data.byteOffset, a.data.length);
  const y = new Uint32Array(b.data.buffer, b.data.byteOffset, b.data.length);
  return x.every((bits, i) => bits === y[i]);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${path} is not valid JSON`);
  }
}
