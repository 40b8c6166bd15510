/**
 * A custom schedule from a file: the text form, the JSON form, what `conveyor schedule --format json` prints,
 * or a PyTorch schedule CSV (compute_only or compute_comms), validated before anything runs it.
 */
import { basename } from 'node:path';
import { readTextFile } from '../data/text-file.js';
import { UsageError } from '../errors.js';
import { printable } from '../quote.js';
import { checkDeclaredShape, isForwardOnly, parseSchedule, parseTorchCsv, scheduleFromJson, type Schedule } from '../schedule/index.js';

/** What `conveyor schedule --format json` prints: the name and each rank's actions as text, with its sizes. */
interface ScheduleSummary {
  readonly schedule: string;
  readonly order: readonly string[];
  readonly ranks?: number;
  readonly stages?: number;
  readonly microbatches?: number;
  readonly placement?: readonly number[];
}

function isScheduleSummary(value: unknown): value is ScheduleSummary {
  const record = value as Partial<ScheduleSummary> | null;
  return typeof record === 'object' && record !== null && typeof record.schedule === 'string' && Array.isArray(record.order) && record.order.every((row) => typeof row === 'string');
}

/** The summary's rows in the text form, so the text parser checks them. */
function summaryText(summary: ScheduleSummary): string {
  return summary.order.map((row, rank) => `rank ${rank}: ${row}`).join('\n');
}

/** A PyTorch CSV's first row starts with a cell (a stage number, an overlapped pair) or is an idle cell. */
function looksLikeCsv(text: string): boolean {
  const first = text.split(/\r?\n/).find((line) => line.trim() !== '') ?? '';
  return /^\s*(\d|\(|,|")/.test(first);
}

/** The shape fields a summary declares, checked against its order (a summary passes the text parser, which reads them off the order). */
function checkSummary(summary: ScheduleSummary, schedule: Schedule): void {
  const { ranks, stages, microbatches, placement } = summary;
  const order = schedule.order;
  checkDeclaredShape('schedule JSON', { ranks, stages, microbatches, placement }, order);
}

/**
 * `flag` names the option the path came from, for the error message; takes the text form, the schedule JSON,
 * `conveyor schedule --format json` output, or a PyTorch CSV. `training` refuses a forward-only schedule.
 */
export function readCustomSchedule(path: string, flag: string, options: { readonly training?: boolean } = {}): Schedule {
  let text: string;
  try {
    // A regular file only: /dev/zero or a pipe nobody writes would be read for ever.
    text = readTextFile(path, 'a schedule: its text form, JSON, or a PyTorch schedule CSV');
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`${flag}: ${error.message}`);
    throw error;
  }
  try {
    const schedule = readText(text, basename(path).replace(/\.[^.]*$/, ''));
    if (options.training && isForwardOnly(schedule)) {
      throw new UsageError('runs forward only (no B, or I and W): training needs a backward for every (stage, micro-batch)');
    }
    return schedule;
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`${flag} ${path}: ${error.message}`);
    throw error;
  }
}

function readText(text: string, name: string): Schedule {
  if (!text.trimStart().startsWith('{')) return looksLikeCsv(text) ? parseTorchCsv(text, name) : parseSchedule(text, name);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`not valid JSON (${printable((error as Error).message, 80)})`);
  }
  if (!isScheduleSummary(value)) return scheduleFromJson(value);
  const schedule = parseSchedule(summaryText(value), value.schedule);
  checkSummary(value, schedule);
  return schedule;
}
