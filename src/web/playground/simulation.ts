/** The playground's settings turned into a schedule and its simulated timeline, or the message saying why not. */
import { UsageError } from '../../errors.js';
import {
  generateSchedule, parseSchedule, parseTorchCsv, scheduleTheory, simulate, uniformCosts,
  type RankDurations, type Schedule, type ScheduleName, type Theory, type Timeline,
} from '../../schedule/index.js';
import { locateError, type ErrorLocation, type ScheduleFormat } from './error-location.js';

export interface PlaygroundSettings {
  readonly schedule: ScheduleName | 'custom';
  /** p: pipeline ranks. */
  readonly ranks: number;
  /** m: micro-batches per step. */
  readonly microbatches: number;
  /** v: chunks per rank; undefined takes the schedule's own default. */
  readonly chunks: number | undefined;
  /** One rank's whole share of the model; a chunk costs 1/v of it. */
  readonly costs: RankDurations;
  /** Seconds per message between ranks. */
  readonly comm: number;
  /** Activation memory one micro-batch stashes on a rank, MiB. */
  readonly activationMiB: number;
  readonly customText: string;
  /** How the custom text is written: `rank 0: 0F0 …` lines, or PyTorch pipelining's CSV. */
  readonly customFormat: ScheduleFormat;
}

export type Simulation =
  | { readonly ok: true; readonly schedule: Schedule; readonly timeline: Timeline; readonly theory: Theory | undefined }
  | { readonly ok: false; readonly message: string; readonly where?: ErrorLocation };

const MiB = 2 ** 20;

export function buildSchedule(settings: PlaygroundSettings, name: ScheduleName | 'custom' = settings.schedule): Schedule {
  if (name === 'custom') return settings.customFormat === 'csv' ? parseTorchCsv(settings.customText) : parseSchedule(settings.customText);
  return generateSchedule(name, {
    ranks: settings.ranks,
    microbatches: settings.microbatches,
    ...(settings.chunks === undefined || name !== settings.schedule ? {} : { chunks: settings.chunks }),
  });
}

export function simulateSchedule(schedule: Schedule, settings: PlaygroundSettings): Timeline {
  const costs = uniformCosts(schedule, settings.costs, { commSeconds: settings.comm, activationBytes: settings.activationMiB * MiB });
  return simulate(schedule, costs);
}

export function runSettings(settings: PlaygroundSettings): Simulation {
  try {
    const schedule = buildSchedule(settings);
    const timeline = simulateSchedule(schedule, settings);
    const sizes = { ranks: schedule.ranks, microbatches: schedule.microbatches, chunks: schedule.stages / schedule.ranks };
    const theory = settings.schedule === 'custom' ? undefined : scheduleTheory(schedule.name, sizes, settings.costs);
    return { ok: true, schedule, timeline, theory };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const where = settings.schedule === 'custom' ? locateError(settings.customText, error.message, settings.customFormat) : undefined;
    return { ok: false, message: error.message, ...(where ? { where } : {}) };
  }
}
