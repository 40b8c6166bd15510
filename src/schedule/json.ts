/**
 * The JSON form of a schedule: the IR itself, with each rank's order as text tokens for compactness.
 * A lowered schedule adds `replicas` and `tiedEmbedding`, and its tokens include communication.
 */
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { describeZodError } from '../zod-message.js';
import { buildLowered, computeScheduleOf, formatOrder, readTokens, shapeOfOrder } from './text.js';
import type { LoweredAction, LoweredSchedule, Schedule } from './types.js';

const count = z.number().int().positive();

const scheduleJson = z.object({
  name: z.string().min(1),
  ranks: count,
  stages: count,
  microbatches: count,
  placement: z.array(z.number().int().nonnegative()),
  /** Lowered schedules only: data-parallel replicas and whether the embedding is tied. */
  replicas: count.optional(),
  tiedEmbedding: z.boolean().optional(),
  /** [rank] that rank's actions as space-separated tokens, e.g. "0F0 0F1 0B0". */
  order: z.array(z.string()),
});

export type ScheduleJson = z.infer<typeof scheduleJson>;

export function scheduleToJson(schedule: Schedule): ScheduleJson {
  const { name, ranks, stages, microbatches, placement } = schedule;
  return { name, ranks, stages, microbatches, placement: [...placement], order: schedule.order.map((actions, rank) => formatOrder(actions, schedule.overlaps?.[rank])) };
}

export function loweredToJson(lowered: LoweredSchedule): ScheduleJson {
  const { name, ranks, stages, microbatches, placement, replicas, tiedEmbedding } = lowered;
  return { name, ranks, stages, microbatches, placement: [...placement], replicas, tiedEmbedding, order: lowered.order.map((actions) => formatOrder(actions)) };
}

/** [rank] lists from token strings, with the positions of overlapped pairs; a bad token names its rank. */
export function readRows(rows: readonly string[], where: string): { order: LoweredAction[][]; pairs: number[][] } {
  const read = rows.map((row, rank) => {
    try {
      return readTokens(row.trim().split(/\s+/).filter((token) => token !== ''));
    } catch (error) {
      if (error instanceof UsageError) throw new UsageError(`${where}: rank ${rank}: ${error.message}`);
      throw error;
    }
  });
  return { order: read.map((rank) => rank.actions), pairs: read.map((rank) => rank.pairs) };
}

/** Declared sizes and placement must be what the order implies; a contradiction is named, not silently resolved. */
export function checkDeclaredShape(
  where: string,
  declared: { readonly ranks?: number; readonly stages?: number; readonly microbatches?: number; readonly placement?: readonly number[] },
  order: readonly (readonly LoweredAction[])[],
): void {
  const implied = shapeOfOrder(order);
  const contradiction = (what: string): never => {
    throw new UsageError(`${where}: ${what}; make the field agree with the order or leave it out`);
  };
  if (declared.ranks !== undefined && declared.ranks !== order.length) contradiction(`ranks is ${declared.ranks} but order lists ${order.length} ranks`);
  if (declared.stages !== undefined && declared.stages !== implied.stages) contradiction(`stages is ${declared.stages} but the order runs stages 0..${implied.stages - 1}`);
  if (declared.microbatches !== undefined && declared.microbatches !== implied.microbatches) {
    contradiction(`microbatches is ${declared.microbatches} but the order runs micro-batches 0..${implied.microbatches - 1}`);
  }
  if (declared.placement !== undefined) {
    if (declared.placement.length !== implied.stages) contradiction(`placement lists ${declared.placement.length} stages but the order runs ${implied.stages}`);
    declared.placement.forEach((rank, stage) => {
      if (rank !== implied.placement[stage]) contradiction(`placement puts stage ${stage} on rank ${rank} but rank ${implied.placement[stage]} runs it`);
    });
  }
}

function parseJson(value: unknown): ScheduleJson {
  const parsed = scheduleJson.safeParse(value);
  if (!parsed.success) {
    throw new UsageError(`schedule JSON: ${describeZodError(parsed.error, value, scheduleJson)}`);
  }
  return parsed.data;
}

/** Reads a schedule from parsed JSON and validates it; a wrong shape is refused with the path of the first bad field. */
export function scheduleFromJson(value: unknown): Schedule {
  const { name, order: rows, replicas, tiedEmbedding, ...declared } = parseJson(value);
  const { order, pairs } = readRows(rows, 'schedule JSON');
  checkDeclaredShape('schedule JSON', declared, order);
  return computeScheduleOf(name, order, { ...(replicas === undefined ? {} : { replicas }), ...(tiedEmbedding === undefined ? {} : { tiedEmbedding }) }, pairs);
}

/** Reads a lowered schedule from parsed JSON and validates it. */
export function loweredFromJson(value: unknown): LoweredSchedule {
  const { name, order: rows, replicas, tiedEmbedding, ...declared } = parseJson(value);
  const { order, pairs } = readRows(rows, 'schedule JSON');
  checkDeclaredShape('schedule JSON', declared, order);
  return buildLowered(name, order, { ...(replicas === undefined ? {} : { replicas }), ...(tiedEmbedding === undefined ? {} : { tiedEmbedding }) }, pairs);
}
