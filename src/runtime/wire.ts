/**
 * Driver and rank messages as frames: the structure travels as JSON (one control frame), every typed array
 * in it as an attachment frame of its own bytes, sent just before the control frame that names it by index.
 * What arrives is checked against the protocol before anyone reads it; anything else is a WireError and
 * the connection that sent it is dropped.
 */
import { z } from 'zod';
import type { DriverMessage, RankReply } from './protocol.js';

export class WireError extends Error {
  override readonly name = 'WireError';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export interface EncodedMessage {
  readonly json: Uint8Array;
  /** In the order the JSON names them ({"$attachment": index}). */
  readonly attachments: readonly (Float32Array | Int32Array)[];
}

export function encodeMessage(message: object): EncodedMessage {
  const attachments: (Float32Array | Int32Array)[] = [];
  const text = JSON.stringify(message, (_key, value: unknown) => {
    if (value instanceof Float32Array || value instanceof Int32Array) {
      attachments.push(value);
      return { $attachment: attachments.length - 1 };
    }
    // JSON has no NaN or Infinity; a loss or a norm can be either
    if (typeof value === 'number' && !Number.isFinite(value)) return { $number: String(value) };
    return value;
  });
  return { json: encoder.encode(text), attachments };
}

/** Parses a control frame's JSON with its attachments; every attachment must be named exactly once. */
export function decodeJson(json: Uint8Array, attachments: readonly (Float32Array | Int32Array)[]): unknown {
  const used = new Set<number>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(json), (_key, value: unknown) => {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
      const fields = value as Record<string, unknown>;
      if ('$attachment' in fields) {
        const index = fields.$attachment;
        if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= attachments.length || used.has(index)) {
          throw new WireError(`names attachment ${String(index)} of ${attachments.length}`);
        }
        used.add(index);
        return attachments[index];
      }
      if ('$number' in fields) {
        if (fields.$number !== 'NaN' && fields.$number !== 'Infinity' && fields.$number !== '-Infinity') throw new WireError(`names the number ${String(fields.$number)}`);
        return Number(fields.$number);
      }
      return value;
    });
  } catch (error) {
    throw error instanceof WireError ? error : new WireError(`is not JSON: ${(error as Error).message}`);
  }
  if (used.size !== attachments.length) throw new WireError(`leaves ${attachments.length - used.size} attachment(s) unnamed`);
  return parsed;
}

/** Any IEEE number: a loss may be NaN, a norm Infinity (zod's number takes finite ones only). */
const real = z.custom<number>((value) => typeof value === 'number', { message: 'expected a number' });
const whole = z.number().int();
const f32 = z.instanceof(Float32Array);
const i32 = z.instanceof(Int32Array);
const namedTensor = z.object({ name: z.string(), data: f32 });
const namedMoments = z.object({ name: z.string(), m: f32, v: f32 });
const actionKind = z.enum(['F', 'B', 'I', 'W']);
const commKind = z.enum(['SEND_F', 'RECV_F', 'SEND_B', 'RECV_B', 'SEND_TIED', 'RECV_TIED', 'REDUCE_GRAD']);
const loweredAction = z.union([z.object({ kind: actionKind, stage: whole, microbatch: whole }), z.object({ kind: commKind, stage: whole, microbatch: whole.optional() })]);
const config = z.object({ vocabSize: whole, blockSize: whole, layers: whole, embd: whole, heads: whole, tied: z.boolean() });
const fault = z.object({ rank: whole, step: whole, action: actionKind, microbatch: whole.optional(), mode: z.enum(['throw', 'exit', 'nan', 'hang']) });

const setup = z.object({
  config,
  seed: whole,
  microbatchSize: whole,
  seqLen: whole,
  microbatches: whole,
  recompute: z.boolean(),
  weightDecay: real,
  placement: z.array(whole),
  topology: z.object({ pipelineRanks: whole, replicas: whole }),
  stages: z.array(z.object({ stage: whole, units: z.tuple([whole, whole]) })),
  order: z.array(loweredAction),
  evaluationOrder: z.array(loweredAction),
  evaluationMicrobatches: whole,
  lossScale: real,
  pollMs: real,
  fault: fault.optional(),
});

const driverMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ping'), sentAt: real }),
  // a rank across the network reads its kernels from its own build, so the Wasm bytes never travel
  z.object({ type: z.literal('kernels'), request: z.strictObject({ backend: z.enum(['native', 'wasm']).optional(), threads: whole.optional(), isa: z.string().optional() }) }),
  z.object({ type: z.literal('profile'), config, microbatchSize: whole, seqLen: whole }),
  z.object({ type: z.literal('build'), setup }),
  z.object({ type: z.literal('step'), step: whole, tokens: z.array(i32).optional(), targets: z.array(i32).optional() }),
  z.object({ type: z.literal('apply'), learningRate: real, clipScale: real }),
  z.object({ type: z.literal('evaluate'), microbatches: whole, tokens: z.array(i32).optional(), targets: z.array(i32).optional() }),
  z.object({ type: z.literal('collect') }),
  z.object({ type: z.literal('load'), tensors: z.array(namedTensor), optimizerStep: whole.optional(), moments: z.array(namedMoments).optional() }),
  z.object({ type: z.literal('stop'), failedRank: whole.optional() }),
]);

const progressAction = z.object({ kind: z.union([actionKind, z.literal('RECV_TIED'), z.literal('REDUCE_GRAD')]), stage: whole, microbatch: whole.optional() });
const progress = z.object({ phase: z.enum(['start-up', 'step', 'evaluation']), step: whole, action: progressAction.optional(), waiting: z.boolean(), finished: whole });
const measuredAction = z.intersection(loweredAction, z.object({ start: real, end: real }));

const rankReply = z.discriminatedUnion('type', [
  z.object({ type: z.literal('pong'), sentAt: real, receivedAt: real, repliedAt: real }),
  z.object({ type: z.literal('kernelsChosen'), kernels: z.string(), threads: whole }),
  z.object({ type: z.literal('profiled'), embedding: real, block: real, head: real }),
  z.object({ type: z.literal('ready'), stashBytes: z.array(z.object({ stage: whole, bytes: whole })) }),
  z.object({
    type: z.literal('stepDone'),
    losses: z.array(real),
    squareSums: z.array(z.object({ stage: whole, sums: z.array(z.object({ name: z.string(), sumOfSquares: real })) })),
    actions: z.array(measuredAction),
    peakActivationBytes: whole,
    peakActivations: whole,
  }),
  z.object({ type: z.literal('applied') }),
  z.object({ type: z.literal('evaluated'), losses: z.array(real) }),
  z.object({
    type: z.literal('collected'),
    stages: z.array(z.object({ stage: whole, tensors: z.array(namedTensor) })),
    optimizerStep: whole,
    moments: z.array(namedMoments),
  }),
  z.object({ type: z.literal('loaded') }),
  z.object({ type: z.literal('progress'), progress }),
  z.object({ type: z.literal('failed'), where: z.string(), message: z.string() }),
  z.object({ type: z.literal('peerLost'), peer: whole, reason: z.string() }),
]);

function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new WireError(`is not a ${what}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
}

export function decodeDriverMessage(json: Uint8Array, attachments: readonly (Float32Array | Int32Array)[]): DriverMessage {
  return check(driverMessage, decodeJson(json, attachments), 'driver message') as DriverMessage;
}

export function decodeRankReply(json: Uint8Array, attachments: readonly (Float32Array | Int32Array)[]): RankReply {
  return check(rankReply, decodeJson(json, attachments), 'rank reply') as RankReply;
}
