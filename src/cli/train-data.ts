/**
 * What a training run reads and writes besides the model: the text (a file or the built-in task), the
 * model shape, where it starts (fresh or from a checkpoint), how it saves, and how the built-in task is scored.
 * A full copy of the model on the coordinator ("host model") carries weights between checkpoints and ranks.
 */
import { readCheckpointSpec, resumeTraining, saveCheckpoint } from '../checkpoint/checkpoint.js';
import { additionAccuracy, type AdditionScore, type NextTokenScores } from '../data/addition.js';
import { lastPosition } from '../data/sampling.js';
import { textTrainingData } from '../data/text-training-data.js';
import { additionTrainingData, type TrainingData } from '../data/training-data.js';
import { UsageError } from '../errors.js';
import { buildSegment, type GPTConfig, type ModelSegment } from '../nn/index.js';
import type { TrainOptions } from '../runtime/config.js';
import { corpusFromData } from '../runtime/corpus.js';
import type { ModelState } from '../runtime/pipeline.js';
import type { Corpus, StartingPoint } from '../runtime/train.js';

export interface TrainData {
  readonly config: GPTConfig;
  readonly corpus: Corpus;
  readonly start: StartingPoint;
  /** One line for the terminal: what is being learned. */
  readonly description: string;
  /** Writes the checkpoint for `step` to --save (atomically). */
  save(step: number, state: ModelState): void;
  /** Accuracy of the trained model on held-out problems of the built-in task; undefined for a text file. */
  accuracy(state: ModelState): AdditionScore | undefined;
}

const builtinSource = 'builtin:addition';

/** The data a run reads: --data FILE, the file a resumed run was trained on, or the built-in task. */
function readTrainingData(options: TrainOptions, savedSource: string | undefined, seed: number): TrainingData {
  const path = options.data ?? (savedSource !== undefined && savedSource !== builtinSource ? savedSource : undefined);
  return path === undefined ? additionTrainingData(seed) : textTrainingData(path);
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

export function prepareData(options: TrainOptions): TrainData {
  let config: GPTConfig;
  let start: StartingPoint = { step: 0 };
  let seed = options.seed;
  let host: ModelSegment;
  let data: TrainingData;
  if (options.resume !== undefined) {
    const spec = readCheckpointSpec(options.resume);
    config = spec.config;
    host = buildSegment(config, 0);
    const resumed = resumeTraining(options.resume, host.parameters);
    // The batch stream and the built-in text continue from the run that saved, whatever --seed says now.
    seed = Number(resumed.extra.seed ?? options.seed);
    data = readTrainingData(options, resumed.extra.data, seed);
    if (data.tokenizer.vocabSize !== spec.tokenizer.vocabSize || data.tokenizer.symbols.some((symbol, id) => spec.tokenizer.symbols[id] !== symbol)) {
      throw new UsageError(`${data.description} does not have the vocabulary of the checkpoint in ${options.resume}: resume on the text it was trained on`);
    }
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
  } else {
    data = readTrainingData(options, undefined, seed);
    config = {
      vocabSize: data.tokenizer.vocabSize,
      blockSize: options.seqLen,
      layers: options.layers,
      embd: options.embd,
      heads: options.heads,
      tied: !options.untied,
    };
    host = buildSegment(config, options.seed);
  }
  if (options.seqLen > config.blockSize) {
    throw new UsageError(`--seq-len ${options.seqLen} is longer than the model's ${config.blockSize} positions (n_positions in ${options.resume}/config.json): use --seq-len ${config.blockSize} or less`);
  }
  const source = data.addition ? builtinSource : data.description;
  const characters = data.train.length + data.validation.length;
  return {
    config,
    corpus: corpusFromData(data, options.batchSize, options.seqLen, seed),
    start,
    description: `${data.description}: ${characters} characters, vocabulary ${config.vocabSize}`,
    save(step, state) {
      loadHost(host, state);
      saveCheckpoint(options.save!, {
        config,
        parameters: host.parameters,
        tokenizer: data.tokenizer,
        training: {
          optimizer: { step: state.optimizerStep, moments: new Map(state.moments.map(({ name, m, v }) => [name, { m, v }])) },
          samplerPosition: step,
          extra: { seed: String(seed), data: source },
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
