/**
 * What a training run tells the lab page, step by step: the same events whether they come from a terminal
 * run over server-sent events or from the browser's own workers. Read with zod on arrival, since a page
 * draws them.
 */
import { z } from 'zod';
import { actionKinds, commKinds, type ActionKind, type CommKind, type ScheduleJson, type Timeline } from '../../schedule/index.js';

export const labEventTypes = ['run', 'step', 'end', 'failed'] as const;

/** The run as it starts: its schedule, its model in words, and how the units were split. */
export interface RunStart {
  readonly schedule: ScheduleJson;
  readonly description: string;
  readonly steps: number;
  /** Measured seconds of F + B of one micro-batch per stage: [stages]. */
  readonly stageCostS: readonly number[];
}

export interface StepFigures {
  readonly step: number;
  readonly loss: number;
  readonly stepTimeS: number;
  readonly tokensPerS: number;
  /** This step as measured; the latest step's only, when replayed. */
  readonly timeline?: Timeline;
  /** The simulator's timeline of the same schedule fed with the costs measured so far. */
  readonly predicted?: Timeline;
}

/** The run is over; its last step came with the step event before. */
export interface RunEnd {
  readonly valLoss: number;
  /** SHA-256 of every parameter's bytes: equal for bitwise equal models, wherever they were trained. */
  readonly paramChecksum: string;
}

export interface RunFailed {
  readonly message: string;
}

export type LabEvent =
  | { readonly type: 'run'; readonly data: RunStart }
  | { readonly type: 'step'; readonly data: StepFigures }
  | { readonly type: 'end'; readonly data: RunEnd }
  | { readonly type: 'failed'; readonly data: RunFailed };

const count = z.number().int().nonnegative();
const seconds = z.number().finite();
const perRank = z.array(z.number().finite());

export const timelineSchema = z.object({
  events: z.array(z.object({
    rank: count,
    // Predicted timelines are simulated lowered, so they carry communication as well as compute.
    action: z.union([
      z.object({ kind: z.enum(actionKinds as [ActionKind, ...ActionKind[]]), microbatch: count, stage: count }),
      z.object({ kind: z.enum(commKinds as [CommKind, ...CommKind[]]), microbatch: count.optional(), stage: count }),
    ]),
    start: seconds,
    end: seconds,
  })),
  makespan: seconds,
  busy: perRank,
  bubbleFraction: perRank,
  peakActivations: perRank,
  peakActivationBytes: perRank,
});

const scheduleShape = z.object({
  name: z.string(),
  ranks: count,
  stages: count,
  microbatches: count,
  placement: z.array(count),
  order: z.array(z.string()),
});

export const labEventSchemas = {
  run: z.object({ schedule: scheduleShape, description: z.string(), steps: count, stageCostS: z.array(seconds) }),
  step: z.object({
    step: count,
    loss: z.number(),
    stepTimeS: seconds,
    tokensPerS: z.number(),
    timeline: timelineSchema.optional(),
    predicted: timelineSchema.optional(),
  }),
  end: z.object({ valLoss: z.number(), paramChecksum: z.string().regex(/^[0-9a-f]{64}$/) }),
  failed: z.object({ message: z.string() }),
} as const;
