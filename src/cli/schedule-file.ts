/** A custom schedule from a file: the text grid or the JSON form, validated before anything runs it. */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import { parseSchedule, scheduleFromJson, type Schedule } from '../schedule/index.js';

/** `flag` names the option the path came from, for the error message. */
export function readCustomSchedule(path: string, flag: string): Schedule {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((error as Error).message);
    throw new UsageError(`${flag}: cannot read '${path}': ${reason}`);
  }
  try {
    if (!text.trimStart().startsWith('{')) return parseSchedule(text, basename(path).replace(/\.[^.]*$/, ''));
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`not valid JSON (${(error as Error).message})`);
    }
    return scheduleFromJson(value);
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`${flag} ${path}: ${error.message}`);
    throw error;
  }
}
