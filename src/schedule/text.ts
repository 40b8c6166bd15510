/**
 * The text form of a schedule, for people and files:
 *
 *   schedule 1f1b
 *   rank 0: 0F0 0F1 0B0 0B1
 *   rank 1: 1F0 1B0 1F1 1B1
 *
 * One line per rank, its actions in order as `<stage><kind><microbatch>` tokens. The first line names the
 * schedule and is optional; `#` starts a comment. Stages, micro-batches and placement are read off the
 * tokens: a stage belongs to the rank whose line runs it.
 */
import { UsageError } from '../errors.js';
import { quote } from '../quote.js';
import { formatAction, parseAction } from './actions.js';
import { validateSchedule } from './validate.js';
import type { Action, Schedule } from './types.js';

export function formatOrder(actions: readonly Action[]): string {
  return actions.map(formatAction).join(' ');
}

export function formatSchedule(schedule: Schedule): string {
  const rows = schedule.order.map((actions, rank) => `rank ${rank}: ${formatOrder(actions)}`.trimEnd());
  return [`schedule ${schedule.name}`, ...rows].join('\n') + '\n';
}

const rowPattern = /^rank\s+(\d+)\s*:(.*)$/;

/** Reads the text form and validates it: a schedule that parses is one the runtime can run. */
export function parseSchedule(text: string, defaultName = 'custom'): Schedule {
  let name = defaultName;
  const rows = new Map<number, Action[]>();
  text.split(/\r?\n/).forEach((raw, lineIndex) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const where = `line ${lineIndex + 1}`;
    const header = /^schedule\s+(\S+)$/.exec(line);
    if (header !== null) {
      if (rows.size > 0) throw new UsageError(`${where}: the 'schedule <name>' line must come before the rank lines`);
      name = header[1]!;
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
      rows.set(rank, tokens.map(parseAction));
    } catch (error) {
      if (error instanceof UsageError) throw new UsageError(`${where}: ${error.message}`);
      throw error;
    }
  });
  if (rows.size === 0) throw new UsageError(`no 'rank <n>: <actions>' lines found; e.g. 'rank 0: 0F0 0B0'`);

  const ranks = [...rows.keys()].reduce((most, rank) => Math.max(most, rank), 0) + 1;
  for (let rank = 0; rank < ranks; rank++) {
    if (!rows.has(rank)) throw new UsageError(`rank ${rank} is missing: list every rank from 0 to ${ranks - 1}`);
  }
  const order = Array.from({ length: ranks }, (_, rank) => rows.get(rank)!);
  const placement: number[] = [];
  let microbatches = 0;
  order.forEach((actions, rank) => {
    for (const a of actions) {
      const owner = placement[a.stage];
      if (owner !== undefined && owner !== rank) {
        throw new UsageError(`stage ${a.stage} runs on rank ${owner} and on rank ${rank}; a stage lives on one rank`);
      }
      placement[a.stage] = rank;
      microbatches = Math.max(microbatches, a.microbatch + 1);
    }
  });
  for (let stage = 0; stage < placement.length; stage++) {
    if (placement[stage] === undefined) {
      throw new UsageError(`stage ${stage} has no actions: stages must run 0..${placement.length - 1} without gaps`);
    }
  }
  const schedule = { name, ranks, stages: placement.length, microbatches, placement, order };
  validateSchedule(schedule);
  return schedule;
}
