/** `conveyor schedule`: generate (or read) a schedule, validate it, simulate it, and print or draw the timeline. */
import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { UsageError } from '../../errors.js';
import {
  catalogueNames,
  formatLoweredSchedule,
  formatOrders,
  formatTorchCsv,
  generateSchedule,
  lowerSchedule,
  scheduleCatalogue,
  simulate,
  uniformCosts,
  validateSchedule,
  type LoweredSchedule,
  type RankDurations,
  type Schedule,
  type ScheduleName,
  type Timeline,
} from '../../schedule/index.js';
import { drawSvg, drawTextGrid, toChromeTrace } from '../../trace/index.js';
import { readCustomSchedule } from '../schedule-file.js';

const formats = ['text', 'svg', 'trace', 'json', 'torch-csv'] as const;
type Format = (typeof formats)[number];

interface ScheduleFlags {
  readonly schedule: ScheduleName;
  readonly stages: number;
  readonly microbatches: number;
  readonly chunks?: number;
  readonly file?: string;
  readonly costs: RankDurations;
  readonly comm: number;
  readonly replicas: number;
  readonly untied?: boolean;
  readonly reduce: number;
  readonly tiedComm: number;
  readonly lowered?: boolean;
  readonly format: Format;
  readonly out?: string;
  readonly width?: number;
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number) || number < 1) {
    throw new InvalidArgumentError('expected a positive integer such as 4.');
  }
  return number;
}

function nonNegativeSeconds(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < 0) {
    throw new InvalidArgumentError('expected seconds, a number ≥ 0 such as 0 or 0.25.');
  }
  return number;
}

const costsExample = 'f=1,b=2,i=1,w=1';

/**
 * Per-rank durations from `f=1,b=2,i=1,w=1`. Keys left out keep a backward whole: without b, b = i + w;
 * with b but neither i nor w, i = w = b / 2; the rest default to f=1, b=2, i=1, w=1.
 */
export function parseCosts(text: string): RankDurations {
  const given = new Map<string, number>();
  for (const part of text.split(',')) {
    const match = /^\s*([fbiwFBIW])\s*=\s*([^,\s]+)\s*$/.exec(part);
    const value = match === null ? Number.NaN : Number(match[2]);
    if (match === null || !Number.isFinite(value) || value <= 0) {
      throw new InvalidArgumentError(`cannot read '${part.trim()}': use keys f, b, i, w with positive numbers, e.g. ${costsExample}.`);
    }
    const key = match[1]!.toUpperCase();
    if (given.has(key)) throw new InvalidArgumentError(`${key.toLowerCase()} is given twice; give each of f, b, i, w at most once.`);
    given.set(key, value);
  }
  const F = given.get('F') ?? 1;
  const givenB = given.get('B');
  const half = givenB !== undefined && !given.has('I') && !given.has('W') ? givenB / 2 : undefined;
  const I = given.get('I') ?? half ?? 1;
  const W = given.get('W') ?? half ?? 1;
  return { F, B: givenB ?? (given.has('I') || given.has('W') ? I + W : 2), I, W };
}

function buildSchedule(flags: ScheduleFlags): Schedule {
  if (flags.file !== undefined) return readCustomSchedule(flags.file, '--file');
  const { schedule: name, stages: ranks, microbatches, chunks } = flags;
  try {
    const schedule = generateSchedule(name, { ranks, microbatches, chunks });
    validateSchedule(schedule);
    return schedule;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const given = `--schedule ${name} --stages ${ranks} --microbatches ${microbatches}${chunks === undefined ? '' : ` --chunks ${chunks}`}`;
    const hint = /\branks\b/.test(error.message) ? ' (--stages sets the ranks)' : '';
    throw new UsageError(`${given}: ${error.message}${hint}`);
  }
}

/** The machine-readable summary; other tools read these field names. */
function summary(schedule: Schedule, lowered: LoweredSchedule, timeline: Timeline, flags: ScheduleFlags): Record<string, unknown> {
  const loweredFields = flags.lowered
    ? { replicas: lowered.replicas, tiedEmbedding: lowered.tiedEmbedding, lowered: formatOrders(lowered) }
    : {};
  return {
    schedule: schedule.name,
    ranks: schedule.ranks,
    stages: schedule.stages,
    chunks: schedule.stages / schedule.ranks,
    microbatches: schedule.microbatches,
    actions: schedule.order.reduce((total, actions) => total + actions.length, 0),
    makespan: timeline.makespan,
    bubbleFraction: timeline.bubbleFraction,
    peakActivations: timeline.peakActivations,
    busy: timeline.busy,
    costs: { f: flags.costs.F, b: flags.costs.B, i: flags.costs.I, w: flags.costs.W },
    comm: flags.comm,
    placement: schedule.placement,
    order: formatOrders(schedule),
    ...loweredFields,
  };
}

function render(schedule: Schedule, lowered: LoweredSchedule, timeline: Timeline, flags: ScheduleFlags): string {
  switch (flags.format) {
    case 'text': {
      const grid = drawTextGrid(schedule, timeline, { width: flags.width });
      return flags.lowered ? `${grid}\n${formatLoweredSchedule(lowered)}` : grid;
    }
    case 'svg':
      return drawSvg(schedule, timeline);
    case 'trace':
      return JSON.stringify(toChromeTrace(schedule, timeline)) + '\n';
    case 'json':
      return JSON.stringify(summary(schedule, lowered, timeline, flags), null, 2) + '\n';
    case 'torch-csv':
      return formatTorchCsv(schedule);
  }
}

function runSchedule(flags: ScheduleFlags): void {
  const schedule = buildSchedule(flags);
  const lowered = lowerSchedule(schedule, { replicas: flags.replicas, tiedEmbedding: !flags.untied });
  const costs = uniformCosts(schedule, flags.costs, { commSeconds: flags.comm, reduceSeconds: flags.reduce, tiedSeconds: flags.tiedComm });
  const timeline = simulate(lowered, costs);
  const output = render(schedule, lowered, timeline, flags);
  if (flags.out === undefined) {
    process.stdout.write(output);
    return;
  }
  try {
    writeFileSync(flags.out, output);
  } catch (error) {
    throw new UsageError(`--out: cannot write '${flags.out}': ${(error as Error).message}`);
  }
  process.stdout.write(`wrote ${flags.format} to ${flags.out}\n`);
}

const severalChunks = scheduleCatalogue
  .filter((entry) => entry.chunks.max > 1)
  .map((entry) => (entry.chunks.min === entry.chunks.max ? `${entry.name}: ${entry.chunks.min}` : `${entry.name}: ${entry.chunks.min} or more`))
  .join(', ');

export function registerScheduleCommand(program: Command): void {
  const generated = (option: Option): Option => option.conflicts('file');
  program
    .command('schedule')
    .description('Generate a pipeline schedule, validate it, simulate it with uniform costs, and print or draw the timeline.')
    .addOption(generated(new Option('--schedule <name>', 'schedule to generate').choices(catalogueNames).default('1f1b')))
    .addOption(generated(new Option('--stages <p>', 'ranks, i.e. pipeline depth p').argParser(positiveInteger).default(4)))
    .addOption(generated(new Option('--microbatches <m>', 'micro-batches per step').argParser(positiveInteger).default(8)))
    .addOption(generated(new Option('--chunks <v>', `model chunks per rank (${severalChunks})`).argParser(positiveInteger)))
    .addOption(new Option('--file <path>', 'read a custom schedule (text form, JSON, or a PyTorch schedule CSV) instead of generating one'))
    .addOption(
      new Option('--costs <spec>', "one rank's durations of F, B, I, W; a chunk costs 1/v of them")
        .argParser(parseCosts)
        .default(parseCosts(costsExample), costsExample),
    )
    .addOption(new Option('--comm <seconds>', 'seconds per message between ranks').argParser(nonNegativeSeconds).default(0))
    .addOption(new Option('--replicas <d>', 'data-parallel replicas whose gradients each stage reduces').argParser(positiveInteger).default(1))
    .addOption(new Option('--untied', 'the embedding and the head are separate (no tied-gradient exchange)'))
    .addOption(new Option('--reduce <seconds>', "one rank's gradient reduction across replicas; a chunk reduces 1/v").argParser(nonNegativeSeconds).default(0))
    .addOption(new Option('--tied-comm <seconds>', 'seconds for the tied-embedding gradient between the first and last rank').argParser(nonNegativeSeconds).default(0))
    .addOption(new Option('--lowered', 'also print the lowered lists: compute with its sends, receives and reductions'))
    .addOption(new Option('--format <format>', 'output').choices(formats).default('text'))
    .addOption(new Option('--out <file>', 'write the output to a file instead of stdout'))
    .addOption(new Option('--width <columns>', 'most columns of the text grid').argParser(positiveInteger))
    .action((flags: ScheduleFlags) => runSchedule(flags));
}
