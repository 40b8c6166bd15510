/** `conveyor schedule`: generate (or read) a schedule, validate it, simulate it, and print or draw the timeline. */
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { OutputError, UsageError } from '../../errors.js';
import { readNumber, readWholeNumber } from '../../number-text.js';
import { quote } from '../../quote.js';
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
import { DEFAULT_GRID_WIDTH, drawSvg, drawTextGrid, toChromeTrace } from '../../trace/index.js';
import { checkOutputFile } from '../destinations.js';
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

/** Commander parsers for a count and for seconds, by the one rule every command uses. */
const count = (flag: string, max?: number) => (text: string) => readWholeNumber(flag, text, 1, max);
const seconds = (flag: string) => (text: string) => readNumber(flag, text, { atLeast: 0 });

/** Widest text grid: wider than any terminal or editor shows, and small enough to build in memory. */
const MAX_WIDTH = 100_000;
/** Characters of the whole text grid (ranks × columns) that fit in memory as rows of single characters. */
const MAX_GRID_CELLS = 2 ** 28;

const costsExample = 'f=1,b=2,i=1,w=1';

/**
 * Per-rank durations from `f=1,b=2,i=1,w=1`. Keys left out keep a backward whole: without b, b = i + w;
 * with b but neither i nor w, i = w = b / 2; the rest default to f=1, b=2, i=1, w=1.
 */
export function parseCosts(text: string): RankDurations {
  const given = new Map<string, number>();
  for (const part of text.split(',')) {
    const match = /^\s*([fbiwFBIW])\s*=\s*([^,\s]+)\s*$/.exec(part);
    if (match === null) throw new UsageError(`--costs: cannot read ${quote(part.trim())}: use keys f, b, i, w with numbers > 0, e.g. ${costsExample}`);
    const key = match[1]!.toUpperCase();
    const value = readNumber(`--costs ${key.toLowerCase()}`, match[2]!, { above: 0 });
    if (given.has(key)) throw new UsageError(`--costs: ${key.toLowerCase()} is given twice; give each of f, b, i, w at most once`);
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
      const grid = drawTextGrid(schedule, timeline, { width: flags.width ?? DEFAULT_GRID_WIDTH });
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

/** Costs near the largest double overflow the sums the simulator makes: refuse rather than print Infinity and NaN. */
function requireFiniteFigures(timeline: Timeline, flags: ScheduleFlags): void {
  const figures = [timeline.makespan, ...timeline.busy, ...timeline.bubbleFraction];
  if (figures.every(Number.isFinite)) return;
  const { F, B, I, W } = flags.costs;
  const times = `--costs f=${F},b=${B},i=${I},w=${W} --comm ${flags.comm} --reduce ${flags.reduce} --tied-comm ${flags.tiedComm}`;
  throw new UsageError(`${times} make the timeline overflow (its makespan is ${timeline.makespan}): give smaller numbers`);
}

function runSchedule(flags: ScheduleFlags): void {
  if (flags.out !== undefined) checkOutputFile('--out', flags.out);
  const schedule = buildSchedule(flags);
  const width = flags.width ?? DEFAULT_GRID_WIDTH;
  if (flags.format === 'text' && schedule.ranks * width > MAX_GRID_CELLS) {
    throw new UsageError(`a text grid of ${schedule.ranks} ranks × ${width} columns is too large to draw: use --width ${Math.max(1, Math.floor(MAX_GRID_CELLS / schedule.ranks))} or less, or --format json`);
  }
  const lowered = lowerSchedule(schedule, { replicas: flags.replicas, tiedEmbedding: !flags.untied });
  const costs = uniformCosts(schedule, flags.costs, { commSeconds: flags.comm, reduceSeconds: flags.reduce, tiedSeconds: flags.tiedComm });
  const timeline = simulate(lowered, costs);
  requireFiniteFigures(timeline, flags);
  const output = render(schedule, lowered, timeline, flags);
  if (flags.out === undefined) {
    process.stdout.write(output);
    return;
  }
  try {
    writeFileSync(flags.out, output);
  } catch (error) {
    throw new OutputError(`--out: could not write ${flags.out} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
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
    .addOption(generated(new Option('--stages <p>', 'ranks, i.e. pipeline depth p').argParser(count('--stages')).default(4)))
    .addOption(generated(new Option('--microbatches <m>', 'micro-batches per step').argParser(count('--microbatches')).default(8)))
    .addOption(generated(new Option('--chunks <v>', `model chunks per rank (${severalChunks})`).argParser(count('--chunks'))))
    .addOption(new Option('--file <path>', 'read a custom schedule (text form, JSON, or a PyTorch schedule CSV) instead of generating one'))
    .addOption(
      new Option('--costs <spec>', "one rank's durations of F, B, I, W; a chunk costs 1/v of them")
        .argParser(parseCosts)
        .default(parseCosts(costsExample), costsExample),
    )
    .addOption(new Option('--comm <seconds>', 'seconds per message between ranks').argParser(seconds('--comm')).default(0))
    .addOption(new Option('--replicas <d>', 'data-parallel replicas whose gradients each stage reduces').argParser(count('--replicas')).default(1))
    .addOption(new Option('--untied', 'the embedding and the head are separate (no tied-gradient exchange)'))
    .addOption(new Option('--reduce <seconds>', "one rank's gradient reduction across replicas; a chunk reduces 1/v").argParser(seconds('--reduce')).default(0))
    .addOption(new Option('--tied-comm <seconds>', 'seconds for the tied-embedding gradient between the first and last rank').argParser(seconds('--tied-comm')).default(0))
    .addOption(new Option('--lowered', 'also print the lowered lists: compute with its sends, receives and reductions'))
    .addOption(new Option('--format <format>', 'output').choices(formats).default('text'))
    .addOption(new Option('--out <file>', 'write the output to a file instead of stdout'))
    .addOption(new Option('--width <columns>', `most columns of the text grid (default ${DEFAULT_GRID_WIDTH})`).argParser(count('--width', MAX_WIDTH)))
    .action((flags: ScheduleFlags) => runSchedule(flags));
}
