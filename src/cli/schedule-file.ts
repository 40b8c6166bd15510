/** A custom schedule from a file: the text grid or the JSON form, validated before anything runs it. */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { decodeUtf8 } from '../data/text-file.js';
import { UsageError } from '../errors.js';
import { printable } from '../quote.js';
import { parseSchedule, scheduleFromJson, type Schedule } from '../schedule/index.js';

/** What `conveyor schedule --format json` prints: the name and each rank's actions as text. */
interface ScheduleSummary {
  readonly schedule: string;
  readonly order: readonly string[];
}

function isScheduleSummary(value: unknown): value is ScheduleSummary {
  const record = value as Partial<ScheduleSummary> | null;
  return typeof record === 'object' && record !== null && typeof record.schedule === 'string' && Array.isArray(record.order) && record.order.every((row) => typeof row === 'string');
}

/** The summary's rows in the text form, so the text parser checks them. */
function summaryText(summary: ScheduleSummary): string {
  return summary.order.map((row, rank) => `rank ${rank}: ${row}`).join('\n');
}

/** `flag` names the option the path came from, for the error message; takes the text form, the schedule JSON, or `conveyor schedule --format json` output. */
export function readCustomSchedule(path: string, flag: string): Schedule {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((error as Error).message);
    throw new UsageError(`${flag}: cannot read '${path}': ${reason}`);
  }
  try {
    const text = decodeUtf8(bytes, 'the schedule file');
    if (!text.trimStart().startsWith('{')) return parseSchedule(text, basename(path).replace(/\.[^.]*$/, ''));
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`not valid JSON (${printable((error as Error).message, 80)})`);
    }
    return isScheduleSummary(value) ? parseSchedule(summaryText(value), value.schedule) : scheduleFromJson(value);
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`${flag} ${path}: ${error.message}`);
    throw error;
  }
}
