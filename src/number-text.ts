/**
 * How a number is written where a user types it (a flag, a spec such as `--costs f=1`), one rule for every
 * command: a count is plain decimal digits ("1e9" and "0x10" are refused, with the digits to write instead),
 * any other number is a finite decimal, optionally with an exponent ("3e-4"). Every room may import it.
 */
import { UsageError } from './errors.js';
import { quote } from './quote.js';

const digits = /^\d+$/;
const decimal = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Whether `text` is a number written as a decimal (an exponent allowed), the form every non-count number takes. */
export const isDecimal = (text: string): boolean => decimal.test(text);

/** A whole number ≥ min (and ≤ max) written in digits; anything else is a UsageError naming `name`. */
export function readWholeNumber(name: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
  const value = Number(text);
  if (!digits.test(text)) {
    // 1e9 means a whole number, just not in the form a count is written in
    const hint = decimal.test(text) && Number.isSafeInteger(value) && value >= min && value <= max ? ` (write it in digits: ${value})` : '';
    throw new UsageError(`${name} must be a whole number ${range}, got ${quote(text)}${hint}`);
  }
  const tooLarge = !Number.isSafeInteger(value) && max === Number.MAX_SAFE_INTEGER ? ` (at most ${max})` : '';
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new UsageError(`${name} must be a whole number ${range}, got ${quote(text)}${tooLarge}`);
  return value;
}

/** Where a number must lie: above (or at least) a bound, and below (or at most) one. */
export interface NumberRange {
  readonly above?: number;
  readonly atLeast?: number;
  readonly atMost?: number;
}

function describeRange({ above, atLeast, atMost }: NumberRange): string {
  const lower = above !== undefined ? ` > ${above}` : atLeast !== undefined ? ` ≥ ${atLeast}` : '';
  const upper = atMost !== undefined ? `${lower === '' ? '' : ' and'} ≤ ${atMost}` : '';
  return `a number${lower}${upper}`;
}

/** A finite decimal number within `range`; anything else is a UsageError naming `name`. */
export function readNumber(name: string, text: string, range: NumberRange = {}): number {
  const value = Number(text);
  const inRange =
    (range.above === undefined || value > range.above) && (range.atLeast === undefined || value >= range.atLeast) && (range.atMost === undefined || value <= range.atMost);
  if (!decimal.test(text) || !Number.isFinite(value) || !inRange) {
    throw new UsageError(`${name} must be ${describeRange(range)}, got ${quote(text)}${decimal.test(text) && !Number.isFinite(value) ? ' (too large to be a finite number)' : ''}`);
  }
  return value;
}
