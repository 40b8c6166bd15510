/** The JSON form of a schedule: the IR itself, with each rank's order as text tokens for compactness. */
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { describeZodError } from '../zod-message.js';
import { parseAction } from './actions.js';
import { formatOrder } from './text.js';
import { validateSchedule } from './validate.js';
import type { Schedule } from './types.js';

const count = z.number().int().positive();

const scheduleJson = z.object({
  name: z.string().min(1),
  ranks: count,
  stages: count,
  microbatches: count,
  placement: z.array(z.number().int().nonnegative()),
  /** [rank] that rank's actions as space-separated tokens, e.g. "0F0 0F1 0B0". */
  order: z.array(z.string()),
});

export type ScheduleJson = z.infer<typeof scheduleJson>;

export function scheduleToJson(schedule: Schedule): ScheduleJson {
  const { name, ranks, stages, microbatches, placement } = schedule;
  return { name, ranks, stages, microbatches, placement: [...placement], order: schedule.order.map(formatOrder) };
}

/** Reads a schedule from parsed JSON and validates it; a wrong shape is refused with the path of the first bad field. */
export function scheduleFromJson(value: unknown): Schedule {
  const parsed = scheduleJson.safeParse(value);
  if (!parsed.success) {
    throw new UsageError(`schedule JSON: ${describeZodError(parsed.error, value, scheduleJson)}`);
  }
  const { order, ...sizes } = parsed.data;
  const schedule: Schedule = {
    ...sizes,
    order: order.map((row) =>
      row
        .trim()
        .split(/\s+/)
        .filter((token) => token !== '')
        .map(parseAction),
    ),
  };
  validateSchedule(schedule);
  return schedule;
}
