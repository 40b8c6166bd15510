/**
 * The environment, read once: what tunes the runtime (CONVEYOR_STALL_SECONDS, CONVEYOR_POLL_MS,
 * CONVEYOR_FAULT). Everything below cli/ gets these as options and never reads process.env itself.
 */
import { UsageError } from '../errors.js';
import { isDecimal } from '../number-text.js';
import { quote } from '../quote.js';
import type { RuntimeOptions } from '../runtime/config.js';
import { parseFault } from '../runtime/fault.js';

export type Environment = Readonly<Record<string, string | undefined>>;

/** A number from the variable `name`, or undefined when it is unset; anything `accept` refuses is a usage error. */
export function environmentNumber(environment: Environment, name: string, expected: string, accept: (value: number) => boolean): number | undefined {
  const raw = environment[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  // the one rule for numbers (number-text.ts): '0x10' and 'Infinity' are not how a number of seconds is written
  if (!isDecimal(raw) || !Number.isFinite(value) || !accept(value)) throw new UsageError(`${name} must be ${expected}, got ${quote(raw)}`);
  return value;
}

export function runtimeOptions(environment: Environment): RuntimeOptions {
  const stallSeconds = environmentNumber(environment, 'CONVEYOR_STALL_SECONDS', 'a number of seconds above 0', (value) => value > 0);
  const pollMs = environmentNumber(environment, 'CONVEYOR_POLL_MS', 'a number of milliseconds, 0 or more', (value) => value >= 0);
  const fault = parseFault(environment.CONVEYOR_FAULT);
  return {
    ...(stallSeconds === undefined ? {} : { stallSeconds }),
    ...(pollMs === undefined ? {} : { pollMs }),
    ...(fault === undefined ? {} : { fault }),
  };
}
