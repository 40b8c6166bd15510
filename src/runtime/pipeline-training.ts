/**
 * A training run end to end, wherever its ranks are: the schedule and the stage split, the ranks, the steps,
 * validation, the measured timeline against the simulator's, checkpoints. It imports no Node module, so a
 * browser's driver worker runs it over Web Worker ranks; train.ts starts worker threads on Node.
 */
import type { GPTConfig } from '../nn/index.js';
import { validateSchedule } from '../schedule/index.js';
import type { Schedule, Timeline } from '../schedule/types.js';
import type { KernelRequest } from '../tensor/index.js';
import { UsageError } from '../errors.js';
import { parameterChecksum } from './checksum.js';
import type { RuntimeOptions, TrainOptions } from './config.js';
import { commSeconds, idealTimeline, measuredTimeline } from './measured.js';
import { balancedPartition, partitionFromBlocks, stageCosts, type Partition, type StageUnitCosts } from './partition.js';
import { Pipeline, type ModelState, type StepOutcome } from './pipeline.js';
import type { RankLinks } from './transport.js';

/** Token streams and how to draw batches from them; the run does not care where the text came from. */
export interface Corpus {
  readonly vocabSize: number;
  /** The next training batch [B, T] (inputs and next-token targets); deterministic in (seed, position). */
  batch(position: number): { readonly inputs: Int32Array; readonly targets: Int32Array };
  /** A fixed held-out set of [B, T] batches. */
  readonly validation: readonly { readonly inputs: Int32Array; readonly targets: Int32Array }[];
}

/** Where a run starts from: fresh (step 0) or a saved state. */
export interface StartingPoint {
  readonly step: number;
  readonly state?: ModelState;
}

export interface StepRecord {
  readonly step: number;
  readonly loss: number;
  readonly stepTimeS: number;
  readonly tokensPerS: number;
}

export interface TrainHooks {
  /** Before the first step: the split and each stage's measured cost. */
  onStart?(plan: RunPlan): void;
  /** After each step; `timelines()` draws it as measured and as the simulator predicts it from the step's own costs. */
  onStep?(record: StepRecord, timelines: () => StepTimelines): void;
  /** After step `step`, when --save-every asks for it; must finish writing before training continues. */
  onSave?(step: number, state: ModelState, position: number): Promise<void> | void;
}

export interface StepTimelines {
  readonly measured: Timeline;
  readonly predicted: Timeline;
}

export interface RunPlan {
  readonly schedule: Schedule;
  readonly partition: Partition;
  /** Seconds of F + B of one micro-batch per stage, from profiling each unit. */
  readonly stageCostS: readonly number[];
}

export interface RunResult {
  readonly plan: RunPlan;
  /** Data-parallel replicas of the pipeline. */
  readonly replicas: number;
  /** What carried the messages ('threads' or 'tcp') and the host of every rank. */
  readonly transport: string;
  readonly hosts: readonly string[];
  readonly steps: readonly StepRecord[];
  readonly valLoss: number;
  readonly state: ModelState;
  readonly paramChecksum: string;
  /** The last step, as measured. */
  readonly timeline: Timeline;
  /** The simulator fed with the measured per-action costs (steps after the first). */
  readonly ideal: Timeline;
  /** Per rank, seconds spent handing messages over in the last step. */
  readonly commTimeS: readonly number[];
  /** Per rank, over the whole run. */
  readonly peakActivationBytes: readonly number[];
  /** The kernels the ranks ran ("native-avx2", "wasm-simd128") and their threads per rank. */
  readonly kernels: string;
  readonly kernelThreads: number;
}

export interface RunSetup {
  readonly options: TrainOptions;
  readonly config: GPTConfig;
  readonly schedule: Schedule;
  readonly corpus: Corpus;
  readonly start: StartingPoint;
  /** Read from the environment by the CLI; absent fields take their defaults. */
  readonly runtime?: RuntimeOptions;
  /** CONVEYOR_KERNELS and --threads; default: native where it loads, one thread. */
  readonly kernels?: KernelRequest;
  /** The ranks' links when they were started elsewhere (processes); default: one worker thread per rank. */
  readonly ranks?: RankLinks;
}

/** The most ranks any one host runs. */
function ranksPerHost(hosts: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const host of hosts) counts.set(host, (counts.get(host) ?? 0) + 1);
  return [...counts.values()].reduce((most, count) => Math.max(most, count), 0);
}

function choosePartition(options: TrainOptions, config: GPTConfig, schedule: Schedule, costs: StageUnitCosts): Partition {
  if (options.partition !== undefined) return partitionFromBlocks(options.partition, config.layers, schedule.stages);
  return balancedPartition(costs);
}

/**
 * How a run starts its ranks when the setup brings none, and how long waiting ranks poll, given the most
 * ranks on one host and one micro-batch's forward and backward through every stage in seconds.
 */
export interface RankLauncher {
  start(size: number): RankLinks;
  pollMs(ranksOnOneHost: number, fillSeconds: number): number;
}

export async function runPipelineTraining(setup: RunSetup, hooks: TrainHooks, launcher: RankLauncher): Promise<RunResult> {
  const { options, config, schedule, corpus, start } = setup;
  validateSchedule(schedule);
  if (start.step >= options.steps) {
    throw new UsageError(`the run already stands at step ${start.step}: ask for more --steps than ${start.step} to continue`);
  }
  const { replicas } = options;
  const microbatchSize = options.batchSize / (schedule.microbatches * replicas);
  const runtime = setup.runtime ?? {};
  const links = setup.ranks ?? launcher.start(schedule.ranks * replicas);
  const pipeline = await Pipeline.connect(links, {
    ...(runtime.stallSeconds === undefined ? {} : { stallSeconds: runtime.stallSeconds }),
    nameHosts: links.kind !== 'threads',
  });
  try {
    const kernels = await pipeline.chooseKernels(setup.kernels ?? {});
    const costs = await pipeline.profile(config, microbatchSize, options.seqLen, schedule);
    const partition = choosePartition(options, config, schedule, costs);
    const plan: RunPlan = { schedule, partition, stageCostS: stageCosts(partition, costs) };
    hooks.onStart?.(plan);
    await pipeline.build({
      config,
      seed: options.seed,
      microbatchSize,
      seqLen: options.seqLen,
      recompute: options.recompute,
      weightDecay: options.weightDecay,
      schedule,
      replicas,
      partition,
      // each replica evaluates its share of every validation batch, in micro-batches of the training size
      evaluationMicrobatches: corpus.validation.length * schedule.microbatches,
      pollMs: runtime.pollMs ?? launcher.pollMs(ranksPerHost(links.hosts), plan.stageCostS.reduce((sum, cost) => sum + cost, 0)),
      ...(runtime.fault ? { fault: runtime.fault } : {}),
    });
    if (start.state) await pipeline.load(start.state);
    const steps: StepRecord[] = [];
    const outcomes: StepOutcome[] = [];
    const peakActivationBytes = new Array<number>(schedule.ranks).fill(0);
    const tokensPerStep = options.batchSize * options.seqLen;
    for (let step = start.step + 1; step <= options.steps; step++) {
      const { inputs, targets } = corpus.batch(step - 1);
      const began = performance.now();
      const outcome = await pipeline.trainStep(step, inputs, targets, options.lr, options.clip);
      const stepTimeS = (performance.now() - began) / 1000;
      const record = { step, loss: outcome.loss, stepTimeS, tokensPerS: tokensPerStep / stepTimeS };
      steps.push(record);
      outcomes.push(outcome);
      outcome.peakActivationBytes.forEach((bytes, rank) => (peakActivationBytes[rank] = Math.max(peakActivationBytes[rank]!, bytes)));
      hooks.onStep?.(record, () => ({
        measured: measuredTimeline(schedule, outcome, pipeline.stashBytesPerStage),
        predicted: idealTimeline(pipeline.lowered, [outcome], pipeline.stashBytesPerStage),
      }));
      if (hooks.onSave && options.saveEvery !== undefined && step % options.saveEvery === 0 && step < options.steps) {
        await hooks.onSave(step, await pipeline.collect(), step);
      }
    }
    const valLoss = await pipeline.evaluate(corpus.validation);
    const state = await pipeline.collect();
    const last = outcomes[outcomes.length - 1]!;
    // The first step pays for allocation and compilation; the ideal is fed with the steady state when there is one.
    const steady = outcomes.length > 1 ? outcomes.slice(1) : outcomes;
    return {
      plan,
      replicas,
      transport: pipeline.transport,
      hosts: pipeline.hosts,
      steps,
      valLoss,
      state,
      paramChecksum: await parameterChecksum(state.tensors),
      timeline: measuredTimeline(schedule, last, pipeline.stashBytesPerStage),
      ideal: idealTimeline(pipeline.lowered, steady, pipeline.stashBytesPerStage),
      commTimeS: commSeconds(last),
      peakActivationBytes,
      kernels: kernels.kernels,
      kernelThreads: kernels.threads,
    };
  } finally {
    await pipeline.close();
  }
}
