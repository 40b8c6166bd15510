/**
 * The text form of a schedule, for people and files:
 *
 *   schedule 1f1b
 *   rank 0: 0F0 0F1 0B0 0B1
 *   rank 1: 1F0 1B0 1F1 1B1
 *
 * One line per rank, its actions in order as `<stage><kind><microbatch>` tokens. The first line names the
 * schedule and is optional; `#` starts a comment. Stages, micro-batches and placement are read off the
 * tokens: a stage belongs to the rank whose line runs it. A lowered schedule adds communication tokens
 * (`0SEND_F0`, `1RECV_F0`, `0REDUCE_GRAD`, ...) and may say `replicas <n>` and `tied-embedding yes|no`
 * before its rank lines.
 */
import { UsageError } from '../errors.js';
import { quote } from '../quote.js';
import { formatAction, isCompute, parseLoweredAction } from './actions.js';
import { computePart } from './lowered-structure.js';
import { validateLoweredSchedule, validateSchedule } from './validate.js';
import type { Action, LoweredAction, LoweredSchedule, Schedule } from './types.js';

/** One rank's actions as tokens; `pairs` are the positions of overlapped pairs, written `(0F3;3B1)`. */
export function formatOrder(actions: readonly LoweredAction[], pairs: readonly number[] = []): string {
  const starts = new Set(pairs);
  const tokens: string[] = [];
  for (let position = 0; position < actions.length; position++) {
    if (starts.has(position)) {
      tokens.push(`(${formatAction(actions[position]!)};${formatAction(actions[position + 1]!)})`);
      position++;
    } else {
      tokens.push(formatAction(actions[position]!));
    }
  }
  return tokens.join(' ');
}

/** Every rank's order as one token string, overlapped pairs included. */
export function formatOrders(schedule: Pick<Schedule, 'overlaps'> & { readonly order: readonly (readonly LoweredAction[])[] }): string[] {
  return schedule.order.map((actions, rank) => formatOrder(actions, schedule.overlaps?.[rank]));
}

function rankLines(order: readonly (readonly LoweredAction[])[], overlaps?: readonly (readonly number[])[]): string[] {
  return order.map((actions, rank) => `rank ${rank}: ${formatOrder(actions, overlaps?.[rank])}`.trimEnd());
}

export function formatSchedule(schedule: Schedule): string {
  return [`schedule ${schedule.name}`, ...rankLines(schedule.order, schedule.overlaps)].join('\n') + '\n';
}

const pairToken = /^\(([^;()\s]+);([^;()\s]+)\)$/;

/** One rank's tokens: actions in order, and where overlapped pairs `(0F3;3B1)` start. */
export function readTokens(tokens: readonly string[]): { actions: LoweredAction[]; pairs: number[] } {
  const actions: LoweredAction[] = [];
  const pairs: number[] = [];
  for (const token of tokens) {
    const pair = pairToken.exec(token);
    if (pair === null) {
      actions.push(parseLoweredAction(token));
      continue;
    }
    const [first, second] = [parseLoweredAction(pair[1]!), parseLoweredAction(pair[2]!)];
    if (!isCompute(first) || !isCompute(second)) throw new UsageError(`cannot read ${quote(token)}: an overlapped pair holds two compute actions, e.g. (0F3;3B1)`);
    pairs.push(actions.length);
    actions.push(first, second);
  }
  return { actions, pairs };
}

/** Per-rank pair positions, or undefined when no rank has any (so plain schedules carry no overlaps field). */
export function overlapsOf(pairs: readonly (readonly number[])[]): { overlaps?: number[][] } {
  return pairs.some((list) => list.length > 0) ? { overlaps: pairs.map((list) => [...list]) } : {};
}

export function formatLoweredSchedule(lowered: LoweredSchedule): string {
  const header = [`schedule ${lowered.name}`, `replicas ${lowered.replicas}`, `tied-embedding ${lowered.tiedEmbedding ? 'yes' : 'no'}`];
  return [...header, ...rankLines(lowered.order)].join('\n') + '\n';
}

/** Placement, stage count and micro-batch count implied by per-rank action lists; a stage lives on one rank. */
export function shapeOfOrder(order: readonly (readonly LoweredAction[])[]): { placement: number[]; stages: number; microbatches: number } {
  const placement: number[] = [];
  let microbatches = 0;
  order.forEach((actions, rank) => {
    for (const a of actions) {
      const owner = placement[a.stage];
      if (owner !== undefined && owner !== rank) {
        throw new UsageError(`stage ${a.stage} runs on rank ${owner} and on rank ${rank}; a stage lives on one rank`);
      }
      placement[a.stage] = rank;
      if (a.microbatch !== undefined) microbatches = Math.max(microbatches, a.microbatch + 1);
    }
  });
  for (let stage = 0; stage < placement.length; stage++) {
    if (placement[stage] === undefined) {
      throw new UsageError(`stage ${stage} has no actions: stages must run 0..${placement.length - 1} without gaps`);
    }
  }
  return { placement, stages: placement.length, microbatches };
}

/** Whether per-rank lists hold any communication. */
export function hasCommunication(order: readonly (readonly LoweredAction[])[]): boolean {
  return order.some((actions) => actions.some((a) => !isCompute(a)));
}

/**
 * What the lowering options of lists read from a file are: as declared, else read off the tokens
 * (tied-gradient tokens mean a tied embedding; REDUCE_GRAD needs the replicas declared).
 */
export function loweringOf(
  order: readonly (readonly LoweredAction[])[],
  declared: { readonly replicas?: number; readonly tiedEmbedding?: boolean },
): { replicas: number; tiedEmbedding: boolean } {
  const kinds = new Set(order.flatMap((actions) => actions.map((a) => a.kind)));
  if (declared.replicas === undefined && kinds.has('REDUCE_GRAD')) {
    throw new UsageError('REDUCE_GRAD reduces across replicas: say how many (a replicas line, or the replicas field)');
  }
  return {
    replicas: declared.replicas ?? 1,
    tiedEmbedding: declared.tiedEmbedding ?? (kinds.has('SEND_TIED') || kinds.has('RECV_TIED')),
  };
}

interface ReadText {
  readonly name: string;
  readonly replicas?: number;
  readonly tiedEmbedding?: boolean;
  readonly order: LoweredAction[][];
  /** [rank] positions of overlapped pairs. */
  readonly pairs: number[][];
}

const rowPattern = /^rank\s+(\d+)\s*:(.*)$/;

function readText(text: string, defaultName: string): ReadText {
  let name = defaultName;
  let replicas: number | undefined;
  let tiedEmbedding: boolean | undefined;
  const rows = new Map<number, { actions: LoweredAction[]; pairs: number[] }>();
  text.split(/\r?\n/).forEach((raw, lineIndex) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const where = `line ${lineIndex + 1}`;
    const header = /^(schedule|replicas|tied-embedding)\s+(\S+)$/.exec(line);
    if (header !== null) {
      if (rows.size > 0) throw new UsageError(`${where}: the '${header[1]} ...' line must come before the rank lines`);
      const value = header[2]!;
      if (header[1] === 'schedule') name = value;
      else if (header[1] === 'replicas') {
        if (!/^[1-9]\d*$/.test(value) || !Number.isSafeInteger(Number(value))) throw new UsageError(`${where}: replicas must be a positive integer (got ${quote(value)})`);
        replicas = Number(value);
      } else {
        if (value !== 'yes' && value !== 'no') throw new UsageError(`${where}: tied-embedding must be yes or no (got ${quote(value)})`);
        tiedEmbedding = value === 'yes';
      }
      return;
    }
    const row = rowPattern.exec(line);
    if (row === null) {
      throw new UsageError(`${where}: expected 'rank <n>: <actions>' such as 'rank 0: 0F0 0F1 0B0 0B1' (got ${quote(line)})`);
    }
    const rank = Number(row[1]);
    if (rows.has(rank)) throw new UsageError(`${where}: rank ${rank} is listed twice`);
    const tokens = row[2]!.trim().split(/\s+/).filter((token) => token !== '');
    try {
      rows.set(rank, readTokens(tokens));
    } catch (error) {
      if (error instanceof UsageError) throw new UsageError(`${where}: ${error.message}`);
      throw error;
    }
  });
  if (rows.size === 0) throw new UsageError(`no 'rank <n>: <actions>' lines found; e.g. 'rank 0: 0F0 0B0'`);
  let ranks = 0;
  for (const rank of rows.keys()) ranks = Math.max(ranks, rank + 1);
  for (let rank = 0; rank < ranks; rank++) {
    if (!rows.has(rank)) throw new UsageError(`rank ${rank} is missing: list every rank from 0 to ${ranks - 1}`);
  }
  const order = Array.from({ length: ranks }, (_, rank) => rows.get(rank)!.actions);
  const pairs = Array.from({ length: ranks }, (_, rank) => rows.get(rank)!.pairs);
  return { name, ...(replicas === undefined ? {} : { replicas }), ...(tiedEmbedding === undefined ? {} : { tiedEmbedding }), order, pairs };
}

/** Lowered lists from their parts, validated: every send matched, receives before their consumers, progress. */
export function buildLowered(
  name: string,
  order: LoweredAction[][],
  declared: { replicas?: number; tiedEmbedding?: boolean },
  pairs: readonly (readonly number[])[] = [],
): LoweredSchedule {
  if (pairs.some((list) => list.length > 0)) {
    throw new UsageError('overlapped pairs such as (0F3;3B1) belong to compute schedules; lowered lists show a pair by its receives before it and its sends after');
  }
  const shape = shapeOfOrder(order);
  const lowered: LoweredSchedule = { name, ranks: order.length, ...shape, ...loweringOf(order, declared), order };
  validateLoweredSchedule(lowered);
  return lowered;
}

/** Reads the lowered text form and validates it. */
export function parseLoweredSchedule(text: string, defaultName = 'custom'): LoweredSchedule {
  const { name, order, pairs, ...declared } = readText(text, defaultName);
  return buildLowered(name, order, declared, pairs);
}

/**
 * The compute schedule of lists read from a file, validated: compute-only lists as they are; lowered lists
 * have their communication checked first, and their compute part is the schedule (which the runtime lowers
 * again for its own replicas and embedding).
 */
export function computeScheduleOf(
  name: string,
  order: LoweredAction[][],
  declared: { replicas?: number; tiedEmbedding?: boolean },
  pairs: readonly (readonly number[])[] = [],
): Schedule {
  const lowered = hasCommunication(order) || declared.replicas !== undefined || declared.tiedEmbedding !== undefined;
  const schedule: Schedule = lowered
    ? computePart(buildLowered(name, order, declared, pairs))
    : { name, ranks: order.length, ...shapeOfOrder(order), order: order as Action[][], ...overlapsOf(pairs) };
  validateSchedule(schedule);
  return schedule;
}

/** Reads the text form and validates it: a schedule that parses is one the runtime can run. */
export function parseSchedule(text: string, defaultName = 'custom'): Schedule {
  const { name, order, pairs, ...declared } = readText(text, defaultName);
  return computeScheduleOf(name, order, declared, pairs);
}
