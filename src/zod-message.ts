/**
 * One line from a failed zod parse that names the field and what it accepts, e.g.
 * `parallel.zero: expected 0, 1, 2 or 3, got 5` instead of zod's `parallel.zero: Invalid input`.
 * Every place a zod error becomes a UsageError goes through describeZodError.
 */
import { z } from 'zod';
import { printable } from './quote.js';

type Issue = z.ZodError['issues'][number];
type Path = readonly PropertyKey[];

/** "parallel.zero", "gpus[0].id"; empty for the input as a whole. */
function fieldName(path: Path): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`)).join('');
}

function valueAt(input: unknown, path: Path): unknown {
  let value = input;
  for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

/** What the user wrote, short: "mamba" with its quotes, 5, null, an object, a list. */
function shown(value: unknown): string {
  if (typeof value === 'string') return `"${printable(value)}"`;
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return printable(String(value));
}

const typeNames: Readonly<Record<string, string>> = {
  string: 'a string', number: 'a number', int: 'a whole number', boolean: 'true or false', object: 'an object', array: 'a list',
};
const typeName = (expected: string): string => typeNames[expected] ?? `a ${expected}`;

/** "a", "a or b", "a, b or c" (or "and"). */
function listOf(items: readonly string[], conjunction = 'or'): string {
  const distinct = [...new Set(items)];
  return distinct.length <= 1 ? (distinct[0] ?? '') : `${distinct.slice(0, -1).join(', ')} ${conjunction} ${distinct[distinct.length - 1]}`;
}

/** The schema the path leads to through objects, arrays, unions and optional or default wrappers, if it can tell. */
function schemaAt(schema: z.ZodType | undefined, path: Path): z.ZodType | undefined {
  let current = unwrap(schema);
  for (const key of path) {
    if (current instanceof z.ZodUnion) current = (current.options as z.ZodType[]).map(unwrap).find((option) => holds(option, key));
    if (current instanceof z.ZodObject && typeof key === 'string') current = unwrap(current.shape[key] as z.ZodType | undefined);
    else if (current instanceof z.ZodArray && typeof key === 'number') current = unwrap(current.element as z.ZodType);
    else return undefined;
  }
  return current;
}

const holds = (schema: z.ZodType | undefined, key: PropertyKey): boolean =>
  typeof key === 'number' ? schema instanceof z.ZodArray : schema instanceof z.ZodObject && typeof key === 'string' && key in schema.shape;

/** The object schema meant for `value`: itself, or the union option that knows most of the value's fields. */
function objectFor(schema: z.ZodType | undefined, value: unknown): z.ZodObject | undefined {
  const current = unwrap(schema);
  if (current instanceof z.ZodObject) return current;
  if (!(current instanceof z.ZodUnion) || typeof value !== 'object' || value === null) return undefined;
  const known = (option: z.ZodType | undefined): number => Object.keys(value).filter((key) => holds(option, key)).length;
  const objects = (current.options as z.ZodType[]).map(unwrap).filter((option): option is z.ZodObject => option instanceof z.ZodObject);
  return objects.sort((a, b) => known(b) - known(a))[0];
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault) current = current.unwrap() as z.ZodType;
  return current;
}

/** The bound a too_small or too_big issue names, as what would be accepted; `schema` tells whole numbers apart. */
function bound(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>, schema: z.ZodType | undefined): string {
  const atLeast = issue.code === 'too_small';
  const limit = Number(atLeast ? issue.minimum : issue.maximum);
  if (issue.origin === 'array' || issue.origin === 'string' || issue.origin === 'set') {
    const unit = issue.origin === 'string' ? 'character' : 'item';
    return `${atLeast ? 'at least' : 'at most'} ${limit} ${unit}${limit === 1 ? '' : 's'}`;
  }
  const whole = issue.origin === 'int' || (schema instanceof z.ZodNumber && schema.isInt);
  // A whole number above 0 is one of at least 1: say the bound the user can type.
  if (whole && !issue.inclusive && Number.isInteger(limit)) return `a whole number ${atLeast ? `≥ ${limit + 1}` : `≤ ${limit - 1}`}`;
  const relation = atLeast ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<';
  return `${whole ? 'a whole number' : 'a number'} ${relation} ${limit}`;
}

/** A union failed: the branch the input was meant for when one got past the type check, else every branch's expectation. */
interface Resolved {
  readonly issues: readonly Issue[];
  readonly schema: z.ZodType | undefined;
  readonly at: Path;
}

/** A branch rejected the input's type or value as a whole (rather than something inside it). */
function failedAtTop(issues: readonly Issue[]): boolean {
  return issues.every((issue) => issue.path.length === 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_value' || (issue.code === 'invalid_union' && issue.errors.every(failedAtTop))));
}

/** What each branch of a union that failed at the top accepts. */
function accepted(issues: readonly Issue[], schema?: z.ZodType): string[] {
  return issues.flatMap((issue): string[] => {
    if (issue.code === 'invalid_type') {
      const target = schemaAt(schema, issue.path);
      return [typeName(target instanceof z.ZodNumber && target.isInt ? 'int' : issue.expected)];
    }
    if (issue.code === 'invalid_value') return issue.values.map((value) => (typeof value === 'string' ? `"${value}"` : String(value)));
    if (issue.code === 'invalid_union') return issue.errors.flatMap((branch) => accepted(branch));
    return [];
  });
}

function resolveUnion(issue: Extract<Issue, { code: 'invalid_union' }>, input: unknown, schema: z.ZodType | undefined, at: Path): Resolved | string {
  const branches = issue.errors.map((issues, index) => ({ issues, index })).filter(({ issues }) => !failedAtTop(issues));
  const value = valueAt(input, at);
  if (branches.length === 0) return `expected ${listOf(issue.errors.flatMap((branch) => accepted(branch)))}, got ${shown(value)}`;
  // The branch that knows most of the input's fields is the one meant; ties go to the fewer complaints.
  const unknownFields = (issues: readonly Issue[]): number =>
    issues.reduce((count, entry) => count + (entry.code === 'unrecognized_keys' ? entry.keys.length : 0), 0);
  const [chosen] = [...branches].sort((a, b) => unknownFields(a.issues) - unknownFields(b.issues) || a.issues.length - b.issues.length);
  const options = schema instanceof z.ZodUnion ? (schema.options as readonly z.ZodType[]) : [];
  return { issues: chosen!.issues, schema: unwrap(options[chosen!.index]), at };
}

/** `parent: missing a, b and c (each a number)` for required fields left out. */
function missingFields(issues: readonly Issue[], input: unknown, schema: z.ZodType | undefined, at: Path): string | undefined {
  const isMissing = (issue: Issue): boolean =>
    (issue.code === 'invalid_type' || issue.code === 'invalid_value') && valueAt(input, [...at, ...issue.path]) === undefined;
  const first = issues[0];
  if (first === undefined || !isMissing(first)) return undefined;
  const parent = first.path.slice(0, -1);
  const siblings = issues.filter(
    (issue) => isMissing(issue) && issue.path.length === first.path.length && parent.every((key, i) => key === issue.path[i]),
  );
  const named = siblings.map((issue) => ({ name: String(issue.path[issue.path.length - 1]), accepts: listOf(accepted([issue], schema)) }));
  const sameKind = new Set(named.map(({ accepts }) => accepts)).size === 1;
  const what =
    named.length === 1
      ? `${named[0]!.name} is missing (${named[0]!.accepts})`
      : sameKind
        ? `missing ${listOf(named.map(({ name }) => name), 'and')} (each ${named[0]!.accepts})`
        : `missing ${listOf(named.map(({ name, accepts }) => `${name} (${accepts})`), 'and')}`;
  const where = fieldName([...at, ...parent]);
  return where === '' ? what : `${where}: ${what}`;
}

function describe(issues: readonly Issue[], input: unknown, schema: z.ZodType | undefined, at: Path): string {
  const missing = missingFields(issues, input, schema, at);
  if (missing !== undefined) return missing;
  const issue = issues[0]!;
  const path = [...at, ...issue.path];
  const field = fieldName(path);
  const value = valueAt(input, path);
  const named = (problem: string): string => (field === '' ? problem : `${field}: ${problem}`);
  switch (issue.code) {
    case 'invalid_union': {
      const resolved = resolveUnion(issue, input, schemaAt(schema, issue.path), path);
      return typeof resolved === 'string' ? named(resolved) : describe(resolved.issues, input, resolved.schema, resolved.at);
    }
    case 'invalid_type':
      return named(`expected ${listOf(accepted([issue], schema))}, got ${shown(value)}`);
    case 'invalid_value':
      return named(`expected ${listOf(accepted([issue]))}, got ${shown(value)}`);
    case 'too_small':
    case 'too_big':
      return named(`expected ${bound(issue, schemaAt(schema, issue.path))}, got ${Array.isArray(value) ? `${value.length}` : shown(value)}`);
    case 'unrecognized_keys': {
      const target = objectFor(schemaAt(schema, issue.path), value);
      const known = target === undefined ? '' : `; the fields are ${Object.keys(target.shape).join(', ')}`;
      const fields = issue.keys.map((key) => `"${printable(key)}"`).join(', ');
      return named(`unknown field${issue.keys.length === 1 ? '' : 's'} ${fields}${known}`);
    }
    default:
      return named(issue.message);
  }
}

/** One line for the first problem of a failed parse of `input` against `schema` (the schema names the accepted fields). */
export function describeZodError(error: z.ZodError, input: unknown, schema?: z.ZodType): string {
  return describe(error.issues, input, schema, []);
}
