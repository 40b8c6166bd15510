/** `conveyor train`: a GPT trained across worker threads by a pipeline schedule (one rank with --stages 1). */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Command, Option } from 'commander';
import { Presenter } from '../train-progress.js';
import { reportJson, reportText } from '../train-report.js';
import { UsageError } from '../../errors.js';
import { catalogueNames, generateSchedule, isScheduleName, type Schedule } from '../../schedule/index.js';
import { drawSvg, toChromeTrace } from '../../trace/index.js';
import { parseTrainOptions, type TrainOptions } from '../../runtime/config.js';
import { RunFailedError } from '../../errors.js';
import type { RuntimeOptions } from '../../runtime/config.js';
import { checkFault } from '../../runtime/fault.js';
import { rendezvous, type LaunchContext } from '../../runtime/tcp/rendezvous.js';
import { serveRank } from '../../runtime/tcp/serve.js';
import { TcpRanks } from '../../runtime/tcp/tcp-ranks.js';
import { runTraining, type TrainHooks } from '../../runtime/train.js';
import type { RankLinks } from '../../runtime/transport.js';
import { kernelRequestFromEnvironment, resolveKernelSettings, type KernelRequest } from '../../tensor/index.js';
import { launchContext } from '../launch-environment.js';
import { runtimeOptions } from '../environment.js';
import { readCustomSchedule } from '../schedule-file.js';
import { prepareData } from '../train-data.js';
import { openLabStream } from '../lab-stream.js';
import { defaultLabPort, parsePort } from './lab.js';

interface TrainFlags extends Record<string, unknown> {
  readonly scheduleFile?: string;
  readonly lab?: boolean;
  readonly labPort?: number;
}

function buildSchedule(options: TrainOptions, scheduleFile: string | undefined): Schedule {
  if (scheduleFile !== undefined) {
    const schedule = readCustomSchedule(scheduleFile, '--schedule-file', { training: true });
    if (schedule.microbatches !== options.microbatches) {
      throw new UsageError(`--schedule-file ${scheduleFile} runs ${schedule.microbatches} micro-batches but --microbatches is ${options.microbatches}: make them agree`);
    }
    return schedule;
  }
  if (!isScheduleName(options.schedule)) {
    throw new UsageError(`--schedule '${options.schedule}' is not one of ${catalogueNames.join(', ')} (or give --schedule-file FILE)`);
  }
  try {
    return generateSchedule(options.schedule, {
      ranks: options.stages,
      microbatches: options.microbatches,
      ...(options.chunks === undefined ? {} : { chunks: options.chunks }),
    });
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`--schedule ${options.schedule} --stages ${options.stages} --microbatches ${options.microbatches}: ${error.message}`);
    throw error;
  }
}

/**
 * CONVEYOR_KERNELS and --threads for every rank, checked here so a bad value stops the run before it starts.
 * Native kernels default to the cores each rank would have to itself: 1 when the ranks already fill them.
 */
function kernelRequest(options: TrainOptions, ranks: number): KernelRequest {
  const request = kernelRequestFromEnvironment(process.env);
  const here = resolveKernelSettings({ ...request, ...(options.threads === undefined ? {} : { threads: options.threads }) });
  const threads = options.threads ?? (here.backend === 'native' ? Math.max(1, Math.floor(availableParallelism() / ranks)) : 1);
  return { ...request, threads };
}

function writeOutput(path: string, flag: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw new UsageError(`${flag}: cannot write '${path}': ${(error as Error).message}`);
  }
}

async function runTrain(flags: TrainFlags): Promise<void> {
  const options = parseTrainOptions(flags);
  const runtime = runtimeOptions(process.env);
  const launch = launchContext(process.env);
  if (launch === undefined) return trainAndReport(options, flags, checkedSchedule(options, flags, runtime), runtime);
  try {
    await trainLaunched(launch, options, flags, runtime);
  } catch (error) {
    // rank 0 prints what `conveyor train` prints; every other rank prints only its errors, named by rank
    if (launch.rank === 0) throw error;
    if (error instanceof UsageError) throw new UsageError(`rank ${launch.rank}: ${error.message}`);
    if (error instanceof RunFailedError) throw new RunFailedError(`rank ${launch.rank}: ${error.message}`);
    throw error;
  }
}

/** The schedule, and the fault (if any) checked against it, so a fault that can never fire is refused before any work. */
function checkedSchedule(options: TrainOptions, flags: TrainFlags, runtime: RuntimeOptions): Schedule {
  const schedule = buildSchedule(options, flags.scheduleFile);
  if (runtime.fault) checkFault(runtime.fault, schedule, 1, 1, options.steps);
  return schedule;
}

/** One rank of a launched job: every rank meets the others; rank 0 then trains and reports, the others serve it. */
async function trainLaunched(launch: LaunchContext, options: TrainOptions, flags: TrainFlags, runtime: RuntimeOptions): Promise<void> {
  const schedule = checkedSchedule(options, flags, runtime);
  if (launch.worldSize !== schedule.ranks) {
    throw new UsageError(`WORLD_SIZE ${launch.worldSize} does not match --stages ${schedule.ranks}: launch ${schedule.ranks} ranks, or change --stages`);
  }
  const mesh = await rendezvous(launch, (line) => process.stderr.write(`conveyor: rank ${launch.rank}: ${line}\n`));
  if (launch.rank !== 0) return serveRank(mesh);
  const ranks = TcpRanks.withLocalRank(mesh);
  try {
    await trainAndReport(options, flags, schedule, runtime, ranks);
  } catch (error) {
    await ranks.close(0);
    throw error;
  }
}

async function trainAndReport(options: TrainOptions, flags: TrainFlags, schedule: Schedule, runtime: RuntimeOptions, ranks?: RankLinks): Promise<void> {
  const kernels = kernelRequest(options, schedule.ranks);
  const data = prepareData(options);
  // a resumed run starts later: a fault before its first step cannot fire either
  if (runtime.fault) checkFault(runtime.fault, schedule, 1, data.start.step + 1, options.steps);
  if (schedule.stages > data.config.layers + 2) {
    throw new UsageError(`${schedule.stages} pipeline stages need at least ${schedule.stages} units but the model has ${data.config.layers + 2} (embedding, ${data.config.layers} blocks, head): use fewer --stages or --chunks, or more --layers`);
  }
  const presenter = new Presenter(options);
  const hooks: TrainHooks = {
    onStart: (plan) => presenter.start(plan, data.description),
    onStep: (record) => presenter.step(record),
    onSave: (step, state) => data.save(step, state),
  };
  const lab = flags.lab || flags.labPort !== undefined ? await openLabStream(flags.labPort ?? defaultLabPort, flags.labPort === undefined ? '--lab' : '--lab-port') : undefined;
  if (lab) process.stderr.write(`watch the run at ${lab.url}\n`);
  const setup = { options, config: data.config, schedule, corpus: data.corpus, start: data.start, runtime, kernels, ...(ranks ? { ranks } : {}) };
  const running = runTraining(setup, lab ? lab.watch(hooks, data.description, options.steps) : hooks);
  const result = await (lab ? lab.report(running) : running).finally(() => presenter.stop());
  if (options.save !== undefined) data.save(options.steps, result.state);
  const score = data.accuracy(result.state);
  const extras = score === undefined ? {} : { accuracy: score.accuracy, digitAccuracy: score.digitAccuracy };
  if (options.trace !== undefined) writeOutput(options.trace, '--trace', JSON.stringify(toChromeTrace(schedule, result.timeline)) + '\n');
  if (options.svg !== undefined) writeOutput(options.svg, '--svg', drawSvg(schedule, result.timeline));
  process.stdout.write(options.json ? JSON.stringify(reportJson(result, extras), null, 2) + '\n' : reportText(result, extras));
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('Train a GPT across worker threads with a pipeline schedule; prints loss, throughput and the measured bubble.')
    .option('--data <file>', 'UTF-8 text file to learn (default: a built-in addition task)')
    .option('--layers <n>', 'transformer blocks', '4')
    .option('--embd <n>', 'embedding width C', '256')
    .option('--heads <n>', 'attention heads', '4')
    .option('--seq-len <n>', 'tokens per sequence T', '128')
    .option('--batch-size <n>', 'sequences per optimizer step', '16')
    .option('--microbatches <n>', 'micro-batches per step (gradients accumulate)', '4')
    .option('--steps <n>', 'optimizer steps in all (a resumed run continues to this count)', '100')
    .option('--lr <rate>', 'AdamW learning rate', '3e-4')
    .option('--weight-decay <rate>', 'AdamW weight decay on matrices', '0.1')
    .option('--clip <norm>', 'global gradient-norm clip', '1')
    .option('--seed <n>', 'seed for initialisation and batches', '1337')
    .option('--untied', 'an LM head of its own instead of the token embedding', false)
    .option('--stages <p>', 'pipeline ranks (worker threads)', '2')
    .addOption(new Option('--schedule <name>', `pipeline schedule: ${catalogueNames.join(', ')}`).default('1f1b'))
    .option('--schedule-file <file>', 'a custom schedule: `rank 0: 0F0 0F1 0B0 0B1` lines, schedule JSON, what `conveyor schedule --format json` prints, or a PyTorch schedule CSV')
    .option('--chunks <v>', 'model chunks per rank (interleaved-1f1b, zb-v)')
    .option('--partition <blocks>', 'transformer blocks per stage, e.g. 3,3,2 (default: balanced by measured cost)')
    .option('--threads <n>', 'kernel threads per rank (native kernels; default: the cores per rank, 1 when the ranks fill them)')
    .option('--recompute', 'keep only each stage input per micro-batch and recompute the forward before the backward', false)
    .option('--save <dir>', 'write a checkpoint here at the end')
    .option('--save-every <k>', 'also write the checkpoint every k steps')
    .option('--resume <dir>', 'continue from a checkpoint (any stage count or schedule)')
    .option('--trace <file>', 'write the last step as Chrome trace JSON')
    .option('--svg <file>', 'write the last step as an SVG Gantt chart')
    .option('--json', 'print one JSON object at the end instead of the summary', false)
    .option('--lab', `stream the run live to the web lab page (http://127.0.0.1:${defaultLabPort}/#watch)`, false)
    .option('--lab-port <port>', 'stream the run to the web lab on this port (implies --lab)', parsePort)
    .action((flags: TrainFlags) => runTrain(flags));
}
