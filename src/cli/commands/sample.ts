import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { readNumber, readWholeNumber } from '../../number-text.js';
import { loadParameters, readCheckpointSpec } from '../../checkpoint/checkpoint.js';
import { generateTokens, lastPosition } from '../../data/sampling.js';
import { buildSegment } from '../../nn/segment.js';
import { checkInferenceMemory } from '../memory-check.js';
import { configureKernels, kernelRequestFromEnvironment } from '../../tensor/index.js';

interface SampleOptions {
  readonly checkpoint: string;
  readonly prompt: string;
  readonly tokens: number;
  readonly temperature: number;
  readonly seed: number;
}

/** The longest string V8 can build (2^29 − 24 UTF-16 units); a character of the vocabulary takes at most 2. */
const MAX_STRING_UNITS = 2 ** 29 - 24;

/** The generated text is built as one string and its ids as one Int32Array: refuse a count that cannot be. */
function checkSampleSize(tokens: number, promptLength: number): void {
  const most = Math.floor(MAX_STRING_UNITS / 2) - promptLength;
  if (tokens > most) throw new UsageError(`--tokens ${tokens} would make a text longer than the longest string this process can hold (${MAX_STRING_UNITS} UTF-16 units): use --tokens ${most} or fewer`);
}

export function registerSampleCommand(program: Command): void {
  program
    .command('sample')
    .description('Generate text from a trained checkpoint, continuing a prompt.')
    .requiredOption('--checkpoint <dir>', 'checkpoint directory (model.safetensors, config.json, vocabulary.json)')
    .requiredOption('--prompt <text>', 'text to continue; every character must be in the model vocabulary')
    .option('--tokens <n>', 'characters to generate', (text) => readWholeNumber('--tokens', text, 0), 100)
    .option('--temperature <t>', 'sampling temperature; 0 always takes the most likely character', (text) => readNumber('--temperature', text, { atLeast: 0 }), 1)
    .option('--seed <s>', 'seed of the sampling stream (same seed, same text)', (text) => readWholeNumber('--seed', text, 0), 0)
    .action((options: SampleOptions) => {
      const { config, tokenizer } = readCheckpointSpec(options.checkpoint);
      if (options.prompt.length === 0) throw new UsageError('the prompt is empty; give at least one character to continue');
      const prompt = tokenizer.encode(options.prompt, 'the prompt');
      if (prompt.length > config.blockSize) {
        throw new UsageError(`the prompt has ${prompt.length} characters, more than the model's n_positions ${config.blockSize}`);
      }
      configureKernels(kernelRequestFromEnvironment(process.env));
      checkSampleSize(options.tokens, prompt.length);
      // The context grows a token at a time up to n_positions, then slides.
      const lengths = Array.from({ length: Math.min(prompt.length + options.tokens - 1, config.blockSize) - prompt.length + 1 }, (_, i) => [1, prompt.length + i] as const);
      checkInferenceMemory(`sample of the model in ${options.checkpoint}`, config, lengths);
      const model = buildSegment(config, 0);
      loadParameters(options.checkpoint, model.parameters);
      const V = config.vocabSize;
      const generated = generateTokens(
        prompt,
        { count: options.tokens, temperature: options.temperature, seed: options.seed, contextLength: config.blockSize },
        (context) => lastPosition(model.probabilities({ B: 1, T: context.length, tokens: context }), 1, context.length, V),
      );
      process.stdout.write(`${options.prompt}${tokenizer.decode(generated)}\n`);
    });
}
