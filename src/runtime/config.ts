import { z } from 'zod';
import { UsageError } from '../errors.js';
import type { Fault } from './fault.js';

/** Everything `conveyor train` needs, validated once at the door so workers never see a bad value. */
const wholeNumber = (flag: string, min: number) =>
  z.coerce
    .number({ message: `${flag} must be a whole number ≥ ${min}` })
    .int({ message: `${flag} must be a whole number ≥ ${min}` })
    .min(min, { message: `${flag} must be a whole number ≥ ${min}` });

const positiveNumber = (flag: string) =>
  z.coerce.number({ message: `${flag} must be a number > 0` }).positive({ message: `${flag} must be a number > 0` }).finite({ message: `${flag} must be a finite number > 0` });

export const trainSchema = z
  .object({
    data: z.string().optional(),
    layers: wholeNumber('--layers', 1),
    embd: wholeNumber('--embd', 1),
    heads: wholeNumber('--heads', 1),
    seqLen: wholeNumber('--seq-len', 1),
    batchSize: wholeNumber('--batch-size', 1),
    microbatches: wholeNumber('--microbatches', 1),
    steps: wholeNumber('--steps', 1),
    lr: positiveNumber('--lr'),
    weightDecay: z.coerce.number({ message: '--weight-decay must be a number ≥ 0' }).min(0, { message: '--weight-decay must be a number ≥ 0' }),
    clip: positiveNumber('--clip'),
    seed: wholeNumber('--seed', 0),
    untied: z.boolean(),
    stages: wholeNumber('--stages', 1),
    schedule: z.string(),
    chunks: wholeNumber('--chunks', 1).optional(),
    partition: z.string().optional(),
    recompute: z.boolean(),
    threads: wholeNumber('--threads', 1).optional(),
    save: z.string().optional(),
    saveEvery: wholeNumber('--save-every', 1).optional(),
    resume: z.string().optional(),
    trace: z.string().optional(),
    svg: z.string().optional(),
    json: z.boolean(),
  })
  .superRefine((options, context) => {
    const fail = (message: string) => context.addIssue({ code: 'custom', message });
    if (options.embd % options.heads !== 0) fail(`--embd ${options.embd} is not divisible by --heads ${options.heads}: pick heads that divide the width (e.g. --heads ${largestDivisorAtMost(options.embd, options.heads)})`);
    if (options.batchSize % options.microbatches !== 0) fail(`--batch-size ${options.batchSize} is not divisible by --microbatches ${options.microbatches}: use a batch size that is a multiple of ${options.microbatches}`);
    if (options.saveEvery !== undefined && options.save === undefined) fail('--save-every needs --save DIR to know where to write');
  });

export type TrainOptions = z.infer<typeof trainSchema>;

function largestDivisorAtMost(value: number, limit: number): number {
  for (let divisor = Math.min(value, limit); divisor > 1; divisor--) if (value % divisor === 0) return divisor;
  return 1;
}

/** Validates raw flag values (strings from the command line); a bad one is a UsageError naming the flag. */
export function parseTrainOptions(raw: Record<string, unknown>): TrainOptions {
  const result = trainSchema.safeParse(raw);
  if (!result.success) throw new UsageError(result.error.issues[0]!.message);
  return result.data;
}

/** What the environment tunes (CONVEYOR_STALL_SECONDS, CONVEYOR_POLL_MS, CONVEYOR_FAULT), read once by the CLI. */
export interface RuntimeOptions {
  /** Seconds without a finished action before the run is declared stuck; default derived from the measured actions. */
  readonly stallSeconds?: number;
  /** Milliseconds a waiting rank polls awake; default 50 while every rank has a core, else 0. */
  readonly pollMs?: number;
  readonly fault?: Fault;
}
