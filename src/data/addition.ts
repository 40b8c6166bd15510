import { CharTokenizer } from './tokenizer.js';
import { SplitMix32 } from './random.js';
import { argmax } from './sampling.js';

/**
 * The built-in task: fixed-width integer addition, one problem per line, the sum written least
 * significant digit first, as one adds by hand: 123+456=579 is the line `123+456=9750`.
 * - Reversed, every answer digit depends on two operand digits and the carry from the digit just
 *   written; most significant first, the first digit would already need the whole carry chain.
 * - Fixed width puts every line at the same length, so a small model only has to find the last newline
 *   to know which digit comes next, and every prompt has the same length (greedy decoding runs batched).
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

/** The digits a model must produce after the prompt: the zero-padded sum, least significant digit first. */
export function additionAnswer(task: AdditionTask, problem: AdditionProblem): string {
  return [...pad(problem.a + problem.b, task.digits + 1)].reverse().join('');
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

/** One line per problem. */
export function additionLines(task: AdditionTask, problems: readonly AdditionProblem[]): string {
  return problems.map((problem) => additionLine(task, problem)).join('');
}

/** A training corpus of `lines` problems drawn from the seed. */
export function additionText(task: AdditionTask, lines: number, seed: number): string {
  return additionLines(task, additionProblems(task, lines, seed));
}

/** Characters per line, newline included. */
export function additionLineLength(task: AdditionTask): number {
  return 3 * task.digits + 4;
}

/** `count` distinct problems, none of them in `seen`, so accuracy measures addition rather than recall. */
export function heldOutProblems(task: AdditionTask, count: number, seed: number, seen: readonly AdditionProblem[]): AdditionProblem[] {
  const key = ({ a, b }: AdditionProblem) => a * 10 ** task.digits + b;
  const taken = new Set(seen.map(key));
  if (10 ** (2 * task.digits) - taken.size < 2 * count) {
    throw new RangeError(`only ${10 ** (2 * task.digits) - taken.size} unseen ${task.digits}-digit problems are left for ${count} held-out ones`);
  }
  const random = new SplitMix32(seed);
  const bound = 10 ** task.digits;
  const problems: AdditionProblem[] = [];
  while (problems.length < count) {
    const problem = { a: random.nextBelow(bound), b: random.nextBelow(bound) };
    if (taken.has(key(problem))) continue;
    taken.add(key(problem));
    problems.push(problem);
  }
  return problems;
}

/**
 * Scores for the token after each context: contexts [rows, length] token ids -> [rows, V].
 * Logits or probabilities alike: greedy decoding only takes the largest.
 */
export type NextTokenScores = (contexts: Int32Array, rows: number, length: number) => Float32Array;

export interface AdditionScore {
  /** Problems with every answer digit right. */
  readonly correct: number;
  readonly total: number;
  /** correct / total: exact match */
  readonly accuracy: number;
  /** Answer digits right where they stand, over all problems: 0.1 is chance; it rises before exact match does. */
  readonly digitAccuracy: number;
}

/**
 * Exact-match accuracy: each prompt, at the start of the context as lines start windows in training,
 * is extended by greedy decoding for digits + 1 tokens; a problem counts only if every answer digit is right.
 * The model is a callback, so this room stays independent of the network.
 */
/** The context lengths greedy decoding runs at, from the bare prompt to the prompt and all but the last answer digit. */
export function additionContextLengths(task: AdditionTask): number[] {
  const promptLength = additionPrompt(task, { a: 0, b: 0 }).length;
  return Array.from({ length: task.digits + 1 }, (_, digit) => promptLength + digit);
}

export function additionAccuracy(
  task: AdditionTask,
  problems: readonly AdditionProblem[],
  nextTokenScores: NextTokenScores,
): AdditionScore {
  const tokenizer = additionTokenizer();
  const rows = problems.length;
  const lengths = additionContextLengths(task);
  const promptLength = lengths[0]!;
  const answerLength = lengths.length;
  const width = promptLength + answerLength;
  const sequences = new Int32Array(rows * width); // [rows, prompt + answer]
  problems.forEach((problem, row) => sequences.set(tokenizer.encode(additionPrompt(task, problem)), row * width));
  for (const length of lengths) {
    const contexts = new Int32Array(rows * length); // [rows, length]
    for (let row = 0; row < rows; row++) contexts.set(sequences.subarray(row * width, row * width + length), row * length);
    const scores = nextTokenScores(contexts, rows, length); // [rows, V]
    if (scores.length !== rows * tokenizer.vocabSize) {
      throw new RangeError(`nextTokenScores returned ${scores.length} values, expected rows ${rows} x vocabulary ${tokenizer.vocabSize}`);
    }
    for (let row = 0; row < rows; row++) sequences[row * width + length] = argmax(scores.subarray(row * tokenizer.vocabSize, (row + 1) * tokenizer.vocabSize));
  }
  let correct = 0;
  let correctDigits = 0;
  problems.forEach((problem, row) => {
    const answer = tokenizer.decode(sequences.subarray(row * width + promptLength, (row + 1) * width));
    const expected = additionAnswer(task, problem);
    if (answer === expected) correct++;
    for (let d = 0; d < answerLength; d++) if (answer[d] === expected[d]) correctDigits++;
  });
  return { correct, total: rows, accuracy: rows === 0 ? 0 : correct / rows, digitAccuracy: rows === 0 ? 0 : correctDigits / (rows * answerLength) };
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}
