/** `--data FILE`: training data read from a text file (the built-in task, which reads nothing, is training-data.ts). */
import { splitTokens } from './batches.js';
import { readTextFile } from './text-file.js';
import { CharTokenizer } from './tokenizer.js';
import type { TrainingData } from './training-data.js';

/** `--data FILE`: the file's own character vocabulary, the last 10% held out. */
export function textTrainingData(path: string): TrainingData {
  const text = readTextFile(path);
  const tokenizer = CharTokenizer.fromText(text, path);
  const { train, validation } = splitTokens(tokenizer.encode(text, path));
  return { description: path, tokenizer, train, validation, alignment: 1 };
}
