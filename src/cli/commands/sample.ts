import { InvalidArgumentError, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { loadParameters, readCheckpointSpec } from '../../checkpoint/checkpoint.js';
import { generateTokens, lastPosition } from '../../data/sampling.js';
import { buildSegment } from '../../nn/segment.js';
import { configureKernels, kernelRequestFromEnvironment } from '../../tensor/index.js';

interface SampleOptions {
  readonly checkpoint: string;
  readonly prompt: string;
  readonly tokens: number;
  readonly temperature: number;
  readonly seed: number;
}

function nonNegativeInteger(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number)) throw new InvalidArgumentError('expected a whole number >= 0 such as 100.');
  return number;
}

function temperature(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < 0) throw new InvalidArgumentError('expected a number >= 0 such as 0.8 (0 = always the most likely token).');
  return number;
}

export function registerSampleCommand(program: Command): void {
  program
    .command('sample')
    .description('Generate text from a trained checkpoint, continuing a prompt.')
    .requiredOption('--checkpoint <dir>', 'checkpoint directory (model.safetensors, config.json, vocabulary.json)')
    .requiredOption('--prompt <text>', 'text to continue; every character must be in the model vocabulary')
    .option('--tokens <n>', 'characters to generate', nonNegativeInteger, 100)
    .option('--temperature <t>', 'sampling temperature; 0 always takes the most likely character', temperature, 1)
    .option('--seed <s>', 'seed of the sampling stream (same seed, same text)', nonNegativeInteger, 0)
    .action((options: SampleOptions) => {
      const { config, tokenizer } = readCheckpointSpec(options.checkpoint);
      if (options.prompt.length === 0) throw new UsageError('the prompt is empty; give at least one character to continue');
      const prompt = tokenizer.encode(options.prompt, 'the prompt');
      if (prompt.length > config.blockSize) {
        throw new UsageError(`the prompt has ${prompt.length} characters, more than the model's n_positions ${config.blockSize}`);
      }
      configureKernels(kernelRequestFromEnvironment(process.env));
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
