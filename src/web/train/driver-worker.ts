/**
 * The browser run's driver, in a worker of its own so the page's thread stays free to draw: the same
 * training loop as `conveyor train` (runtime/pipeline-training.ts) over Web Worker ranks, with the
 * WebAssembly kernels, its hooks posting the events a terminal run streams.
 */
import { UsageError } from '../../errors.js';
import { additionTrainingData } from '../../data/training-data.js';
import { corpusFromData } from '../../runtime/corpus.js';
import { parseTrainOptions } from '../../runtime/config.js';
import { runPipelineTraining, type RankLauncher } from '../../runtime/pipeline-training.js';
import { RankFailedError } from '../../runtime/rank-pool.js';
import { WebWorkerRanks } from '../../runtime/web-workers/worker-ranks.js';
import { generateSchedule, isScheduleName } from '../../schedule/index.js';
import type { LabEvent } from '../watch/events.js';
import { reportingHooks } from '../watch/report-hooks.js';
import type { BrowserTrainRequest, DriverPost } from './train-request.js';

const scope = self as unknown as { onmessage: ((event: MessageEvent<BrowserTrainRequest>) => void) | null; postMessage(post: DriverPost): void };

const publish = (event: LabEvent) => scope.postMessage({ event });

/** One module worker per rank; nothing to poll with (a browser cannot take a message without yielding). */
const webWorkers: RankLauncher = {
  start: (size) =>
    new WebWorkerRanks(size, (rank) => new Worker(new URL('./rank-worker.ts', import.meta.url), { type: 'module', name: `rank ${rank}` }), () => new MessageChannel()),
  pollMs: () => 0,
};

async function train(request: BrowserTrainRequest): Promise<void> {
  // The same checks and messages as the command line's flags.
  const options = parseTrainOptions({
    layers: request.layers, embd: request.embd, heads: request.heads, seqLen: request.seqLen, batchSize: request.batchSize,
    microbatches: request.microbatches, steps: request.steps, lr: request.lr, weightDecay: 0.1, clip: 1, seed: request.seed,
    untied: false, stages: request.stages, replicas: 1, schedule: request.schedule, recompute: false, json: false,
  });
  if (!isScheduleName(options.schedule)) throw new UsageError(`unknown schedule '${options.schedule}'`);
  const schedule = generateSchedule(options.schedule, { ranks: options.stages, microbatches: options.microbatches });
  const data = additionTrainingData(options.seed);
  const config = { vocabSize: data.tokenizer.vocabSize, blockSize: options.seqLen, layers: options.layers, embd: options.embd, heads: options.heads, tied: true };
  if (schedule.stages > config.layers + 2) {
    throw new UsageError(`${schedule.stages} stages need at least ${schedule.stages} units but the model has ${config.layers + 2} (embedding, ${config.layers} blocks, head): use fewer ranks or more layers`);
  }
  const corpus = corpusFromData(data, options.batchSize, options.seqLen, options.seed);
  const kernels = { backend: 'wasm', wasm: request.kernels as WebAssembly.Module } as const;
  const setup = { options, config, schedule, corpus, start: { step: 0 }, kernels };
  const result = await runPipelineTraining(setup, reportingHooks(publish, data.description, options.steps), webWorkers);
  publish({ type: 'end', data: { valLoss: result.valLoss, paramChecksum: result.paramChecksum } });
}

scope.onmessage = (event) => {
  train(event.data).catch((error: unknown) => {
    if (error instanceof UsageError) scope.postMessage({ refused: error.message });
    else if (error instanceof RankFailedError) publish({ type: 'failed', data: { message: error.message } });
    else publish({ type: 'failed', data: { message: `the driver failed: ${(error as Error).message}` } });
  });
};
