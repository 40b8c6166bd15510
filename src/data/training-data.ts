import {
  additionLineLength,
  additionProblems,
  additionLines,
  additionTokenizer,
  DEFAULT_ADDITION_TASK,
  heldOutProblems,
  type AdditionProblem,
  type AdditionTask,
} from './addition.js';
import { mix32 } from './random.js';
import type { CharTokenizer } from './tokenizer.js';

/** What a training run reads: token ids split for training and validation, and how to cut windows. */
export interface TrainingData {
  /** For summaries: the file path, or the built-in task. */
  readonly description: string;
  readonly tokenizer: CharTokenizer;
  readonly train: Int32Array;
  readonly validation: Int32Array;
  /** BatchShape.alignment: 1 for free text; the line length for the addition task. */
  readonly alignment: number;
  /** Only for the built-in task: held-out problems to measure additionAccuracy on. */
  readonly addition?: { readonly task: AdditionTask; readonly problems: readonly AdditionProblem[] };
}

/** Lines of the built-in corpus: about 1.3 M characters, more than a default run reads. */
export const ADDITION_LINES = 100_000;
/** Problems the accuracy is measured on. */
export const ADDITION_ACCURACY_PROBLEMS = 200;

/**
 * No `--data`: the addition corpus from the seed, its last 10% of lines held out for validation loss,
 * and accuracy problems that occur nowhere in the corpus.
 */
export function additionTrainingData(seed: number, task: AdditionTask = DEFAULT_ADDITION_TASK, lines = ADDITION_LINES): TrainingData {
  const tokenizer = additionTokenizer();
  const problems = additionProblems(task, lines, seed);
  const tokens = tokenizer.encode(additionLines(task, problems));
  const trainLines = lines - Math.max(1, Math.round(lines * 0.1));
  const cut = trainLines * additionLineLength(task);
  return {
    description: `built-in addition task (${task.digits}-digit operands, ${lines} lines)`,
    tokenizer,
    train: tokens.subarray(0, cut),
    validation: tokens.subarray(cut),
    alignment: additionLineLength(task),
    addition: { task, problems: heldOutProblems(task, ADDITION_ACCURACY_PROBLEMS, mix32(seed ^ 0x5eed), problems) },
  };
}
