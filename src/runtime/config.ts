import { z } from 'zod';
import { UsageError } from '../errors.js';
import { readNumber, readWholeNumber, type NumberRange } from '../number-text.js';
import { describeZodError } from '../zod-message.js';
import type { Fault } from './fault.js';

/** A flag's text (or a number already), read by the one rule every command uses (number-text.ts). */
const flagText = z.union([z.string(), z.number()]).transform(String);

/** Everything `conveyor train` needs, validated once at the door so workers never see a bad value. */
const wholeNumber = (flag: string, min: number) => flagText.transform((text) => readWholeNumber(flag, text, min));

const number = (flag: string, range: NumberRange) => flagText.transform((text) => readNumber(flag, text, range));

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
    lr: number('--lr', { above: 0 }),
    weightDecay: number('--weight-decay', { atLeast: 0 }),
    clip: number('--clip', { above: 0 }),
    seed: wholeNumber('--seed', 0),
    untied: z.boolean(),
    stages: wholeNumber('--stages', 1),
    replicas: wholeNumber('--replicas', 1),
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
    if (options.saveEvery !== undefined && options.save === undefined) context.addIssue({ code: 'custom', message: '--save-every needs --save DIR to know where to write' });
  });

export type TrainOptions = z.infer<typeof trainSchema>;

/** The largest divisor of `value` that is at most `limit`. */
export function largestDivisorAtMost(value: number, limit: number): number {
  for (let divisor = Math.min(value, limit); divisor > 1; divisor--) if (value % divisor === 0) return divisor;
  return 1;
}

/**
 * The flags that must fit together: heads divide the width, micro-batches times replicas the batch. A resumed run
 * checks them once its checkpoint has supplied what was left out (resume-flags.ts), so they are not checked here then.
 */
export function checkTrainCombination(options: TrainOptions): void {
  if (options.embd % options.heads !== 0) {
    throw new UsageError(`--embd ${options.embd} is not divisible by --heads ${options.heads}: pick heads that divide the width (e.g. --heads ${largestDivisorAtMost(options.embd, options.heads)})`);
  }
  if (options.batchSize % options.microbatches !== 0) {
    throw new UsageError(`--batch-size ${options.batchSize} is not divisible by --microbatches ${options.microbatches}: use a batch size that is a multiple of ${options.microbatches}`);
  }
  const parts = options.microbatches * options.replicas;
  if (options.batchSize % parts !== 0) {
    throw new UsageError(`--batch-size ${options.batchSize} is not divisible by --microbatches ${options.microbatches} × --replicas ${options.replicas} = ${parts}: each replica takes 1/${options.replicas} of the batch in ${options.microbatches} micro-batches; use a multiple of ${parts}`);
  }
}

/** Validates raw flag values (strings from the command line); a bad one is a UsageError naming the flag. */
export function parseTrainOptions(raw: Record<string, unknown>): TrainOptions {
  const result = trainSchema.safeParse(raw);
  if (!result.success) throw new UsageError(describeZodError(result.error, raw, trainSchema));
  if (result.data.resume === undefined) checkTrainCombination(result.data);
  return result.data;
}

/** What the environment tunes (CONVEYOR_STALL_SECONDS, CONVEYOR_POLL_MS, CONVEYOR_FAULT), read once by the CLI. */
export interface RuntimeOptions {
  /** Seconds without a finished action before the run is declared stuck; default derived from the measured actions. */
  readonly stallSeconds?: number;
  /** Milliseconds a waiting rank polls awake; by default derived from the stage costs while every rank has a core, else 0 (threads/thread-ranks.ts). */
  readonly pollMs?: number;
  readonly fault?: Fault;
}
