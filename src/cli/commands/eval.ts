import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { loadParameters, readCheckpointSpec } from '../../checkpoint/checkpoint.js';
import { evaluationBatches, type Batch } from '../../data/batches.js';
import { readTextFile } from '../../data/text-file.js';
import { tokenRowBatches } from '../../data/token-rows.js';
import { buildSegment } from '../../nn/segment.js';
import { checkInferenceMemory } from '../memory-check.js';
import { configureKernels, kernelRequestFromEnvironment } from '../../tensor/index.js';

interface EvalOptions {
  readonly checkpoint: string;
  readonly tokens?: string;
  readonly data?: string;
  readonly json?: boolean;
}

/** Rows per forward pass: bounds the [B, T, V] probabilities held at once. */
const ROWS_PER_BATCH = 16;

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('Mean next-token cross-entropy of a checkpoint on token rows or on a text file.')
    .requiredOption('--checkpoint <dir>', 'checkpoint directory (model.safetensors, config.json, vocabulary.json)')
    .option('--tokens <file>', 'JSON array of token-id rows, each T+1 long: inputs are all but the last id, targets all but the first')
    .option('--data <file>', 'UTF-8 text, encoded with the checkpoint vocabulary and read in windows of n_positions')
    .option('--json', 'print {"loss": x, "tokens": n}')
    .action((options: EvalOptions) => {
      if ((options.tokens === undefined) === (options.data === undefined)) {
        throw new UsageError('give exactly one of --tokens FILE.json or --data FILE');
      }
      const { config, tokenizer } = readCheckpointSpec(options.checkpoint);
      const batches: Batch[] =
        options.tokens !== undefined
          ? tokenRowBatches(parseJsonFile(options.tokens), options.tokens, { vocabSize: config.vocabSize, maxSeqLen: config.blockSize }, ROWS_PER_BATCH)
          : evaluationBatches(tokenizer.encode(readTextFile(options.data!), options.data), config.blockSize, ROWS_PER_BATCH);
      configureKernels(kernelRequestFromEnvironment(process.env));
      checkInferenceMemory(`eval of the model in ${options.checkpoint}`, config, batches.map(({ batchSize, seqLen }) => [batchSize, seqLen] as const));
      const model = buildSegment(config, 0);
      loadParameters(options.checkpoint, model.parameters);
      let lossSum = 0; // over every predicted token, in float64
      let tokens = 0;
      for (const { batchSize: B, seqLen: T, inputs, targets } of batches) {
        lossSum += (model.forward(null, { B, T, tokens: inputs, targets }) as number) * B * T;
        tokens += B * T;
      }
      const loss = lossSum / tokens;
      process.stdout.write(options.json ? `${JSON.stringify({ loss, tokens })}\n` : `loss ${loss.toFixed(6)} over ${tokens} predicted tokens\n`);
    });
}

function parseJsonFile(path: string): unknown {
  try {
    return JSON.parse(readTextFile(path, 'a JSON file of token-id rows'));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${path} is not valid JSON; give an array of token-id rows such as [[1,2,3],[4,5,6]]`);
  }
}
