/**
 * What a training run reads and writes besides the model: the text (a file or the built-in task), the
 * model shape, where it starts (fresh or from a checkpoint), how it saves, and how the built-in task is scored.
 * A full copy of the model on the coordinator ("host model") carries weights between checkpoints and ranks.
 */
import { createHash } from 'node:crypto';
import { readCheckpointSpec, readTrainingExtras, resumeTraining, saveCheckpoint, type CheckpointSpec } from '../checkpoint/checkpoint.js';
import { additionAccuracy, additionContextLengths, type AdditionScore, type NextTokenScores } from '../data/addition.js';
import { lastPosition } from '../data/sampling.js';
import { textTrainingData } from '../data/text-training-data.js';
import { additionTrainingData, type TrainingData } from '../data/training-data.js';
import { UsageError } from '../errors.js';
import { buildSegment, type GPTConfig, type ModelSegment } from '../nn/index.js';
import type { TrainOptions } from '../runtime/config.js';
import { corpusFromData } from '../runtime/corpus.js';
import type { ModelState } from '../runtime/pipeline.js';
import type { Corpus, StartingPoint } from '../runtime/train.js';
import { DATA_DIGEST_FIELD, DATA_FIELD, resumedOptions, settingsToSave } from './resume-flags.js';

export interface TrainData {
  /** The options the run uses: with --resume, the checkpoint's settings where a flag was left out. */
  readonly options: TrainOptions;
  readonly config: GPTConfig;
  readonly corpus: Corpus;
  readonly start: StartingPoint;
  /** One line for the terminal: what is being learned. */
  readonly description: string;
  /** Writes the checkpoint for `step` to `dir` (atomically). */
  save(dir: string, step: number, state: ModelState): void;
  /** Accuracy of the trained model on held-out problems of the built-in task; undefined for a text file. */
  accuracy(state: ModelState): AdditionScore | undefined;
}

/** What the run will hold, known before anything large is allocated, for the memory check. */
export interface RunSize {
  readonly options: TrainOptions;
  readonly config: GPTConfig;
  /** Context shapes [rows, length] the built-in task is scored at (none for a text file). */
  readonly accuracyShapes: readonly (readonly [number, number])[];
}

const builtinSource = 'builtin:addition';

/** The data a run reads: --data FILE, the file a resumed run was trained on, or the built-in task. */
function readTrainingData(options: TrainOptions, savedSource: string | undefined, seed: number): TrainingData {
  const path = options.data ?? (savedSource !== undefined && savedSource !== builtinSource ? savedSource : undefined);
  return path === undefined ? additionTrainingData(seed) : textTrainingData(path);
}

/** A digest of the text as token ids (training then validation), to know a resumed run reads the same text. */
function tokenDigest(data: TrainingData): string {
  const hash = createHash('sha256');
  for (const part of [data.train, data.validation]) hash.update(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
  return hash.digest('hex');
}

/** Copies the named tensors into every parameter of that name (both copies of a tied embedding). */
function loadHost(host: ModelSegment, state: ModelState): void {
  const byName = new Map(state.tensors.map((tensor) => [tensor.name, tensor.data]));
  for (const parameter of host.parameters) parameter.data.set(byName.get(parameter.name)!);
}

/** Next-token scores from the host model: contexts [rows, length] -> [rows, V] (probabilities; the argmax is the same). */
function nextTokenScores(host: ModelSegment, vocabSize: number): NextTokenScores {
  return (contexts, rows, length) => lastPosition(host.probabilities({ B: rows, T: length, tokens: contexts }), rows, length, vocabSize);
}

/** A resumed run must read the text its checkpoint was trained on. */
function checkSameText(data: TrainingData, dir: string, spec: CheckpointSpec, extra: Readonly<Record<string, string>>): void {
  const { tokenizer } = spec;
  if (data.tokenizer.vocabSize !== tokenizer.vocabSize || data.tokenizer.symbols.some((symbol, id) => tokenizer.symbols[id] !== symbol)) {
    throw new UsageError(`${data.description} does not have the vocabulary of the checkpoint in ${dir}: resume on the text it was trained on (${extra[DATA_FIELD] ?? 'not recorded'})`);
  }
  const digest = extra[DATA_DIGEST_FIELD];
  if (!data.addition && digest !== undefined && digest !== tokenDigest(data)) {
    throw new UsageError(`${data.description} is not the text the checkpoint in ${dir} was trained on (${extra[DATA_FIELD]}, which has changed since, or another file): resume on that text`);
  }
}

/**
 * The text, the model and where the run starts. `given` holds the option keys the user typed (a resumed run
 * takes the rest from its checkpoint); `check` sees the run's size before the model or a batch is allocated.
 */
export function prepareData(flagOptions: TrainOptions, given: ReadonlySet<string>, check: (size: RunSize) => void): TrainData {
  const dir = flagOptions.resume;
  const spec = dir === undefined ? undefined : readCheckpointSpec(dir);
  const extra = dir === undefined ? {} : readTrainingExtras(dir);
  const options = dir === undefined ? flagOptions : resumedOptions(flagOptions, given, dir, spec!.config, extra);
  const seed = options.seed;
  const data = readTrainingData(options, extra[DATA_FIELD], seed);
  if (dir !== undefined) checkSameText(data, dir, spec!, extra);
  const config: GPTConfig = spec?.config ?? {
    vocabSize: data.tokenizer.vocabSize,
    blockSize: options.seqLen,
    layers: options.layers,
    embd: options.embd,
    heads: options.heads,
    tied: !options.untied,
  };
  if (options.seqLen > config.blockSize) {
    throw new UsageError(`--seq-len ${options.seqLen} is longer than the model's ${config.blockSize} positions (n_positions in ${dir}/config.json): use --seq-len ${config.blockSize} or less`);
  }
  const contextLengths = data.addition ? additionContextLengths(data.addition.task) : [];
  const longest = contextLengths[contextLengths.length - 1] ?? 0;
  if (longest > config.blockSize) {
    const fix = dir === undefined ? `use --seq-len ${longest} or more, or --data FILE` : `train it on --data FILE, or start a new run with --seq-len ${longest} or more`;
    throw new UsageError(`the built-in task is scored on contexts of up to ${longest} characters (a problem and all but the last answer digit), longer than the model's ${config.blockSize} positions: ${fix}`);
  }
  const accuracyShapes = contextLengths.map((length) => [data.addition!.problems.length, length] as const);
  check({ options, config, accuracyShapes });
  const host = buildSegment(config, seed);
  let start: StartingPoint = { step: 0 };
  if (dir !== undefined) {
    const resumed = resumeTraining(dir, host.parameters);
    const tensors = new Map<string, Float32Array>();
    for (const parameter of host.parameters) if (!tensors.has(parameter.name)) tensors.set(parameter.name, parameter.data);
    start = {
      step: resumed.optimizer.step,
      state: {
        tensors: [...tensors].map(([name, tensorData]) => ({ name, data: tensorData })),
        optimizerStep: resumed.optimizer.step,
        moments: [...resumed.optimizer.moments].map(([name, { m, v }]) => ({ name, m, v })),
      },
    };
  }
  const saved = { ...settingsToSave(options), [DATA_FIELD]: data.addition ? builtinSource : data.description, ...(data.addition ? {} : { [DATA_DIGEST_FIELD]: tokenDigest(data) }) };
  const characters = data.train.length + data.validation.length;
  return {
    options,
    config,
    corpus: corpusFromData(data, options.batchSize, options.seqLen, seed),
    start,
    description: `${data.description}: ${characters} characters, vocabulary ${config.vocabSize}`,
    save(saveDir, step, state) {
      loadHost(host, state);
      saveCheckpoint(saveDir, {
        config,
        parameters: host.parameters,
        tokenizer: data.tokenizer,
        training: {
          optimizer: { step: state.optimizerStep, moments: new Map(state.moments.map(({ name, m, v }) => [name, { m, v }])) },
          samplerPosition: step,
          extra: saved,
        },
      });
    },
    accuracy(state) {
      if (!data.addition) return undefined;
      loadHost(host, state);
      return additionAccuracy(data.addition.task, data.addition.problems, nextTokenScores(host, config.vocabSize));
    },
  };
}
