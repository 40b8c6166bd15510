import { CharTokenizer } from './tokenizer.js';
import { SplitMix32 } from './random.js';

/**
 * The built-in task: fixed-width integer addition, one problem per line, e.g. `123+456=0579`.
 * Fixed width puts every line at the same length, so a small model only has to find the last newline
 * to know which digit comes next, and every prompt has the same length (greedy decoding runs batched).
 */
export interface AdditionTask {
  /** Digits of each operand (zero-padded); the sum has digits + 1. */
  readonly digits: number;
}

export const DEFAULT_ADDITION_TASK: AdditionTask = { digits: 3 };

export interface AdditionProblem {
  readonly a: number;
  readonly b: number;
}

/** Every character the task writes; the vocabulary does not depend on which problems were drawn. */
export function additionTokenizer(): CharTokenizer {
  return CharTokenizer.fromText('0123456789+=\n');
}

/** `a+b=` zero-padded, the part a model is given. */
export function additionPrompt(task: AdditionTask, problem: AdditionProblem): string {
  return `${pad(problem.a, task.digits)}+${pad(problem.b, task.digits)}=`;
}

/** The digits a model must produce after the prompt. */
export function additionAnswer(task: AdditionTask, problem: AdditionProblem): string {
  return pad(problem.a + problem.b, task.digits + 1);
}

export function additionLine(task: AdditionTask, problem: AdditionProblem): string {
  return `${additionPrompt(task, problem)}${additionAnswer(task, problem)}\n`;
}

/** `count` problems with operands uniform in [0, 10^digits), fully determined by the seed. */
export function additionProblems(task: AdditionTask, count: number, seed: number): AdditionProblem[] {
  const random = new SplitMix32(seed);
  const bound = 10 ** task.digits;
  return Array.from({ length: count }, () => ({ a: random.nextBelow(bound), b: random.nextBelow(bound) }));
}

/** A training corpus of `lines` problems. */
export function additionText(task: AdditionTask, lines: number, seed: number): string {
  return additionProblems(task, lines, seed).map((problem) => additionLine(task, problem)).join('');
}

/** Logits for the token after each context: contexts [rows, length] token ids -> [rows, V]. */
export type NextTokenLogits = (contexts: Int32Array, rows: number, length: number) => Float32Array;

export interface AdditionScore {
  readonly correct: number;
  readonly total: number;
  /** correct / total */
  readonly accuracy: number;
}

/**
 * Exact-match accuracy: each prompt (after a newline, as lines appear in training) is extended by greedy
 * decoding for digits + 1 tokens; a problem counts only if every answer digit is right.
 * The model is a callback, so this room stays independent of the network.
 */
export function additionAccuracy(
  task: AdditionTask,
  problems: readonly AdditionProblem[],
  nextTokenLogits: NextTokenLogits,
): AdditionScore {
  const tokenizer = additionTokenizer();
  const rows = problems.length;
  const promptLength = 1 + additionPrompt(task, { a: 0, b: 0 }).length;
  const answerLength = task.digits + 1;
  const width = promptLength + answerLength;
  const sequences = new Int32Array(rows * width); // [rows, prompt + answer]
  problems.forEach((problem, row) => sequences.set(tokenizer.encode(`\n${additionPrompt(task, problem)}`), row * width));
  for (let length = promptLength; length < width; length++) {
    const contexts = new Int32Array(rows * length); // [rows, length]
    for (let row = 0; row < rows; row++) contexts.set(sequences.subarray(row * width, row * width + length), row * length);
    const logits = nextTokenLogits(contexts, rows, length); // [rows, V]
    if (logits.length !== rows * tokenizer.vocabSize) {
      throw new RangeError(`nextTokenLogits returned ${logits.length} values, expected rows ${rows} x vocabulary ${tokenizer.vocabSize}`);
    }
    for (let row = 0; row < rows; row++) sequences[row * width + length] = argmax(logits.subarray(row * tokenizer.vocabSize, (row + 1) * tokenizer.vocabSize));
  }
  const correct = problems.filter((problem, row) =>
    tokenizer.decode(sequences.subarray(row * width + promptLength, (row + 1) * width)) === additionAnswer(task, problem),
  ).length;
  return { correct, total: rows, accuracy: rows === 0 ? 0 : correct / rows };
}

/** Index of the largest value; the first one on ties, as greedy decoding conventionally picks. */
export function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}
