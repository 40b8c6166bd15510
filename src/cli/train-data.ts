/**
 * What a training run reads and writes besides the model: the text (a file or the built-in task), the
 * model shape, where it starts (fresh or from a checkpoint), how it saves, and how the built-in task is scored.
 * A full copy of the model on the coordinator ("host model") carries weights between checkpoints and ranks.
 */
import { readCheckpointSpec, resumeTraining, saveCheckpoint } from '../checkpoint/checkpoint.js';
import { additionAccuracy, additionProblems, additionText, additionTokenizer, DEFAULT_ADDITION_TASK } from '../data/addition.js';
import { readTextFile } from '../data/text-file.js';
import { CharTokenizer } from '../data/tokenizer.js';
import { UsageError } from '../errors.js';
import { buildSegment, type GPTConfig, type ModelSegment } from '../nn/index.js';
import type { TrainOptions } from '../runtime/config.js';
import { corpusFromTokens } from '../runtime/corpus.js';
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
  /** Exact-match accuracy of the trained model on held-out problems of the built-in task; undefined for a text file. */
  accuracy(state: ModelState): number | undefined;
}

/** Problems in the built-in task's training text (about 13 characters each). */
const additionLines = 40_000;
/** Held-out problems scored at the end, drawn from a stream the training text never uses. */
const accuracyProblems = 200;
const builtinSource = 'builtin:addition';

interface Text {
  readonly source: string;
  readonly text: string;
}

function readText(options: TrainOptions): Text {
  if (options.data !== undefined) return { source: options.data, text: readTextFile(options.data) };
  return { source: builtinSource, text: additionText(DEFAULT_ADDITION_TASK, additionLines, options.seed) };
}

function freshConfig(options: TrainOptions, tokenizer: CharTokenizer): GPTConfig {
  return { vocabSize: tokenizer.vocabSize, blockSize: options.seqLen, layers: options.layers, embd: options.embd, heads: options.heads, tied: !options.untied };
}

/** Copies the named tensors into every parameter of that name (both copies of a tied embedding). */
function loadHost(host: ModelSegment, state: ModelState): void {
  const byName = new Map(state.tensors.map((tensor) => [tensor.name, tensor.data]));
  for (const parameter of host.parameters) parameter.data.set(byName.get(parameter.name)!);
}

/** Greedy next-token logits from the host model: contexts [rows, length] -> [rows, V] (probabilities; the argmax is the same). */
function nextTokenScores(host: ModelSegment, vocabSize: number) {
  return (contexts: Int32Array, rows: number, length: number): Float32Array => {
    const probabilities = host.probabilities({ B: rows, T: length, tokens: contexts }); // [rows, length, V]
    const last = new Float32Array(rows * vocabSize); // [rows, V]
    for (let row = 0; row < rows; row++) last.set(probabilities.subarray(((row + 1) * length - 1) * vocabSize, (row + 1) * length * vocabSize), row * vocabSize);
    return last;
  };
}

export function prepareData(options: TrainOptions): TrainData {
  let config: GPTConfig;
  let tokenizer: CharTokenizer;
  let start: StartingPoint = { step: 0 };
  let seed = options.seed;
  let host: ModelSegment;
  let text: Text;
  if (options.resume !== undefined) {
    ({ config, tokenizer } = readCheckpointSpec(options.resume));
    host = buildSegment(config, 0);
    const resumed = resumeTraining(options.resume, host.parameters);
    // The batch stream and the built-in text continue from the run that saved, whatever --seed says now.
    seed = Number(resumed.extra.seed ?? options.seed);
    const savedSource = resumed.extra.data ?? builtinSource;
    text = options.data !== undefined ? readText(options) : savedSource === builtinSource ? readText({ ...options, seed }) : { source: savedSource, text: readTextFile(savedSource) };
    const tensors = new Map<string, Float32Array>();
    for (const parameter of host.parameters) if (!tensors.has(parameter.name)) tensors.set(parameter.name, parameter.data);
    start = {
      step: resumed.optimizer.step,
      state: {
        tensors: [...tensors].map(([name, data]) => ({ name, data })),
        optimizerStep: resumed.optimizer.step,
        moments: [...resumed.optimizer.moments].map(([name, { m, v }]) => ({ name, m, v })),
      },
    };
  } else {
    text = readText(options);
    tokenizer = text.source === builtinSource ? additionTokenizer() : CharTokenizer.fromText(text.text, text.source);
    config = freshConfig(options, tokenizer);
    host = buildSegment(config, options.seed);
  }
  if (options.seqLen > config.blockSize) {
    throw new UsageError(`--seq-len ${options.seqLen} is longer than the model's ${config.blockSize} positions (n_positions in ${options.resume}/config.json): use --seq-len ${config.blockSize} or less`);
  }
  const tokens = tokenizer.encode(text.text, text.source);
  const builtin = text.source === builtinSource;
  return {
    config,
    corpus: corpusFromTokens(tokens, config.vocabSize, options.batchSize, options.seqLen, seed),
    start,
    description: builtin
      ? `built-in task: 3-digit addition (${additionLines} problems such as 123+456=0579), vocabulary ${config.vocabSize}`
      : `${text.source}: ${tokens.length} characters, vocabulary ${config.vocabSize}`,
    save(step, state) {
      loadHost(host, state);
      saveCheckpoint(options.save!, {
        config,
        parameters: host.parameters,
        tokenizer,
        training: {
          optimizer: { step: state.optimizerStep, moments: new Map(state.moments.map(({ name, m, v }) => [name, { m, v }])) },
          samplerPosition: step,
          extra: { seed: String(seed), data: text.source },
        },
      });
    },
    accuracy(state) {
      if (!builtin) return undefined;
      loadHost(host, state);
      // Seed + 1 draws problems from another stream than the training text's.
      const problems = additionProblems(DEFAULT_ADDITION_TASK, accuracyProblems, seed + 1);
      return additionAccuracy(DEFAULT_ADDITION_TASK, problems, nextTokenScores(host, config.vocabSize)).accuracy;
    },
  };
}
