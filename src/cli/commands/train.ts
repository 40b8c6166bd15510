/** `conveyor train`: a GPT trained across worker threads by a pipeline schedule (one rank with --stages 1). */
import { availableParallelism } from 'node:os';
import { Command, Option } from 'commander';
import { Presenter } from '../train-progress.js';
import { reportJson, reportText } from '../train-report.js';
import { OutputError, UsageError } from '../../errors.js';
import { quote } from '../../quote.js';
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
import { checkTrainDestinations, stopOnSignals, TrainOutputs } from '../train-outputs.js';
import { checkTrainMemory, type TrainShape } from '../memory-check.js';
import { kernelBytesInUse } from '../../tensor/index.js';
import { partitionFromBlocks } from '../../runtime/partition.js';
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
    throw new UsageError(`--schedule ${quote(options.schedule)} is not one of ${catalogueNames.join(', ')} (or give --schedule-file FILE)`);
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

/** The option keys the user typed, as opposed to defaults (a resumed run takes those from its checkpoint). */
function givenOptions(command: Command): Set<string> {
  return new Set(command.options.map((option) => option.attributeName()).filter((key) => command.getOptionValueSource(key) === 'cli'));
}

async function runTrain(flags: TrainFlags, command: Command): Promise<void> {
  const options = parseTrainOptions(flags);
  const runtime = runtimeOptions(process.env);
  const given = givenOptions(command);
  const launch = launchContext(process.env);
  if (launch === undefined) return trainAndReport(options, given, flags, runtime);
  try {
    await trainLaunched(launch, options, given, flags, runtime);
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
  if (runtime.fault) checkFault(runtime.fault, schedule, options.replicas, 1, options.steps);
  return schedule;
}

/** One rank of a launched job: every rank meets the others; rank 0 then trains and reports, the others serve it. */
async function trainLaunched(launch: LaunchContext, options: TrainOptions, given: ReadonlySet<string>, flags: TrainFlags, runtime: RuntimeOptions): Promise<void> {
  const schedule = checkedSchedule(options, flags, runtime);
  const ranks = schedule.ranks * options.replicas;
  if (launch.worldSize !== ranks) {
    throw new UsageError(`WORLD_SIZE ${launch.worldSize} does not match --stages ${schedule.ranks} × --replicas ${options.replicas} = ${ranks}: launch ${ranks} ranks, or change --stages or --replicas`);
  }
  const mesh = await rendezvous(launch, (line) => process.stderr.write(`conveyor: rank ${launch.rank}: ${line}\n`));
  if (launch.rank !== 0) return serveRank(mesh);
  const links = TcpRanks.withLocalRank(mesh);
  try {
    await trainAndReport(options, given, flags, runtime, { links, ranksHere: launch.localWorldSize });
  } catch (error) {
    await links.close(0);
    throw error;
  }
}

/** Ranks started elsewhere (launched processes), and how many of them share this host's cores. */
interface LaunchedRanks {
  readonly links: RankLinks;
  readonly ranksHere: number;
}

/**
 * Trains on this process's ranks (threads) or the launched ones. Everything the run writes and everything it
 * allocates is checked before any work: destinations first, then (once a resumed run's checkpoint has supplied
 * the flags left out) the schedule, the fault, a --partition and each thread's memory. The kernels' threads are
 * divided among the ranks that share this host: all of them on worker threads, `ranksHere` when launched.
 */
async function trainAndReport(flagOptions: TrainOptions, given: ReadonlySet<string>, flags: TrainFlags, runtime: RuntimeOptions, launched?: LaunchedRanks): Promise<void> {
  checkTrainDestinations(flagOptions);
  // A new run's flags are final: its schedule and fault are checked before the data is read.
  const early = flagOptions.resume === undefined ? checkedSchedule(flagOptions, flags, runtime) : undefined;
  let memory!: TrainShape;
  const resuming = flagOptions.resume !== undefined;
  const checkMemory = (shape: TrainShape) =>
    checkTrainMemory(shape, { layers: shape.config.layers, embd: shape.config.embd, heads: shape.config.heads, resuming }, { oneMachine: launched === undefined });
  const data = prepareData(flagOptions, given, ({ options, config, accuracyShapes }) => {
    const schedule = early ?? checkedSchedule(options, flags, runtime);
    if (schedule.stages > config.layers + 2) {
      throw new UsageError(`${schedule.stages} pipeline stages need at least ${schedule.stages} units but the model has ${config.layers + 2} (embedding, ${config.layers} block${config.layers === 1 ? '' : 's'}, head): use fewer --stages or --chunks, or more --layers`);
    }
    // A --partition is checked now, not after profiling, and then the ranks' memory with it.
    const partition = options.partition === undefined ? undefined : partitionFromBlocks(options.partition, config.layers, schedule.stages);
    memory = { config, batchSize: options.batchSize, seqLen: options.seqLen, recompute: options.recompute, schedule, replicas: options.replicas, accuracyShapes, driverInUse: kernelBytesInUse(), ...(partition ? { partition } : {}) };
    checkMemory(memory);
  });
  const options = data.options;
  const { schedule } = memory;
  const kernels = kernelRequest(options, launched?.ranksHere ?? schedule.ranks * options.replicas);
  // a resumed run starts later: a fault before its first step cannot fire either
  if (runtime.fault) checkFault(runtime.fault, schedule, options.replicas, data.start.step + 1, options.steps);
  const presenter = new Presenter(options);
  const outputs = new TrainOutputs(options, data.save, data.start.step);
  let stepping = false; // from the first step on
  let stepsDone = data.start.step;
  const stopped = stopOnSignals(() => outputs.interrupted(stepping ? stepsDone + 1 : undefined), () => presenter.stop());
  const hooks: TrainHooks = {
    onStart: (plan) => {
      checkMemory({ ...memory, partition: plan.partition }); // now each rank's stages are known
      stepping = true;
      presenter.start(plan, data.description);
    },
    onStep: (record) => {
      stepsDone = record.step;
      presenter.step(record);
    },
    onSave: (step, state) => outputs.saveDuring(step, state),
  };
  const lab = flags.lab || flags.labPort !== undefined ? await openLabStream(flags.labPort ?? defaultLabPort, flags.labPort === undefined ? '--lab' : '--lab-port') : undefined;
  if (lab) process.stderr.write(`watch the run at ${lab.url}\n`);
  const setup = { options, config: data.config, schedule, corpus: data.corpus, start: data.start, runtime, kernels, ...(launched ? { ranks: launched.links } : {}) };
  const running = runTraining(setup, lab ? lab.watch(hooks, data.description, options.steps) : hooks);
  const result = await (lab ? lab.report(running) : running).finally(() => presenter.stop());
  const failures: (string | undefined)[] = [];
  if (options.save !== undefined) failures.push(outputs.saveAtEnd(options.steps, result.state));
  stopped();
  const score = data.accuracy(result.state);
  const extras = score === undefined ? {} : { accuracy: score.accuracy, digitAccuracy: score.digitAccuracy };
  if (options.trace !== undefined) failures.push(outputs.writeFile('--trace', options.trace, JSON.stringify(toChromeTrace(schedule, result.timeline)) + '\n'));
  if (options.svg !== undefined) failures.push(outputs.writeFile('--svg', options.svg, drawSvg(schedule, result.timeline)));
  process.stdout.write(options.json ? JSON.stringify(reportJson(result, extras), null, 2) + '\n' : reportText(result, extras));
  const failed = failures.filter((failure) => failure !== undefined);
  if (failed.length > 0) throw new OutputError(failed.join('; '));
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
    // A schedule file fixes the ranks, the schedule and its chunks: those flags beside it would be ignored.
    .addOption(new Option('--stages <p>', 'pipeline ranks (worker threads, or processes when launched)').default('2').conflicts('scheduleFile'))
    .option('--replicas <d>', 'data-parallel replicas of the pipeline, each 1/d of every batch (d × p ranks in all)', '1')
    .addOption(new Option('--schedule <name>', `pipeline schedule: ${catalogueNames.join(', ')}`).default('1f1b').conflicts('scheduleFile'))
    .option('--schedule-file <file>', 'a custom schedule: `rank 0: 0F0 0F1 0B0 0B1` lines, schedule JSON, what `conveyor schedule --format json` prints, or a PyTorch schedule CSV')
    .addOption(new Option('--chunks <v>', 'model chunks per rank (interleaved-1f1b, zb-v)').conflicts('scheduleFile'))
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
    .action((flags: TrainFlags, command: Command) => runTrain(flags, command));
}
