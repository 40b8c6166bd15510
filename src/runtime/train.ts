/**
 * A training run on this machine's worker threads, one per rank (`--stages 1` is the same path with one
 * rank), unless the setup brings ranks started elsewhere (processes): pipeline-training.ts does the rest.
 */
import { runPipelineTraining, type RankLauncher, type RunResult, type RunSetup, type TrainHooks } from './pipeline-training.js';
import { pollMilliseconds, ThreadRanks } from './threads/thread-ranks.js';

export type {
  Corpus, RankLauncher, RunPlan, RunResult, RunSetup, StartingPoint, StepRecord, StepTimelines, TrainHooks,
} from './pipeline-training.js';

const workerThreads: RankLauncher = { start: (size) => new ThreadRanks(size), pollMs: pollMilliseconds };

export function runTraining(setup: RunSetup, hooks: TrainHooks = {}): Promise<RunResult> {
  return runPipelineTraining(setup, hooks, workerThreads);
}
