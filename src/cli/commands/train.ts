/** `conveyor train`: a GPT trained across worker threads by a pipeline schedule (one rank with --stages 1). */
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { Presenter } from '../train-progress.js';
import { reportJson, reportText } from '../train-report.js';
import { UsageError } from '../../errors.js';
import { catalogueNames, generateSchedule, isScheduleName, type Schedule } from '../../schedule/index.js';
import { drawSvg, toChromeTrace } from '../../trace/index.js';
import { parseTrainOptions, type TrainOptions } from '../../runtime/config.js';
import { runTraining, type TrainHooks } from '../../runtime/train.js';
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
  const schedule = buildSchedule(options, flags.scheduleFile);
  const data = prepareData(options);
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
  const setup = { options, config: data.config, schedule, corpus: data.corpus, start: data.start, runtime };
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
