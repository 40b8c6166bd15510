/**
 * The shape checks of a lowered schedule, the counterpart of structure.ts: its compute part is a sound
 * schedule, and every communication action sits on the rank that owns its stage, between the compute that
 * produces its data and the compute that consumes it, and is matched by exactly one partner on the other
 * rank. Returns each action's message so the validator and the simulator look partners up in O(1).
 *
 * Messages and channels: boundary b lies between stage b and b+1 (B = stages - 1 of them). The activation
 * of micro-batch m across b is message b·M + m on channel b; its gradient is B·M + b·M + m on channel B + b;
 * the tied gradient sent from the first stage's owner is 2·B·M on channel 2B, from the last stage's 2·B·M + 1
 * on channel 2B + 1.
 */
import { UsageError } from '../errors.js';
import { formatAction, hasMicrobatch, isCompute } from './actions.js';
import { exchangesTiedGradient, lastWeightGradientAt } from './lower.js';
import { indexSchedule, isForwardOnly, slotOf, type ScheduleIndex } from './structure.js';
import type { Action, CommAction, LoweredSchedule, Schedule } from './types.js';

export const roleCompute = 0;
export const roleSend = 1;
export const roleReceive = 2;
export const roleReduce = 3;

export interface LoweredIndex {
  /** The compute actions alone, in order: the schedule the lowering came from. */
  readonly compute: Schedule;
  readonly computeIndex: ScheduleIndex;
  /** [actions] every rank's lowered actions, rank after rank. */
  readonly actions: readonly (Action | CommAction)[];
  /** [ranks + 1] global index of each rank's first action. */
  readonly offsets: Int32Array;
  /** [actions] the message a communication action sends or receives, -1 for compute and REDUCE_GRAD. */
  readonly message: Int32Array;
  /** [actions] roleCompute, roleSend, roleReceive or roleReduce. */
  readonly role: Uint8Array;
  /** Messages in all (2·B·M + 2). */
  readonly messages: number;
  /** [2·B + 2] channels; see the file comment. */
  readonly channels: number;
}

/** The compute part of a lowered schedule. */
export function computePart(lowered: LoweredSchedule): Schedule {
  const { name, ranks, stages, microbatches, placement } = lowered;
  // Malformed lists pass through untouched for indexSchedule to refuse with its own message.
  const order = Array.isArray(lowered.order)
    ? lowered.order.map((actions) => (Array.isArray(actions) ? actions.filter(isCompute) : actions))
    : lowered.order;
  return { name, ranks, stages, microbatches, placement, order: order as Action[][] };
}

export function channelOf(index: LoweredIndex, message: number): number {
  const { stages, microbatches } = index.compute;
  const pointToPoint = 2 * (stages - 1) * microbatches;
  return message < pointToPoint ? Math.floor(message / microbatches) : 2 * (stages - 1) + message - pointToPoint;
}

/** The compute action that produces a message's data, and the rank it runs on. */
export function producerOf(index: LoweredIndex, message: number): { token: string; rank: number; payload: string } {
  const { compute, computeIndex } = index;
  const { stages, microbatches, placement } = compute;
  const boundaries = stages - 1;
  if (message >= 2 * boundaries * microbatches) {
    const stage = message === 2 * boundaries * microbatches ? 0 : stages - 1;
    return { token: `stage ${stage}`, rank: placement[stage]!, payload: 'tied-embedding gradient' };
  }
  const gradient = message >= boundaries * microbatches;
  const boundary = Math.floor(message / microbatches) % boundaries;
  const microbatch = message % microbatches;
  const stage = gradient ? boundary + 1 : boundary;
  const position = (gradient ? computeIndex.inputGradientAt : computeIndex.forwardAt)[slotOf(compute, stage, microbatch)]!;
  const rank = placement[stage]!;
  return { token: formatAction(compute.order[rank]![position]!), rank, payload: gradient ? 'gradient' : 'activation' };
}

/** The compute action that consumes a point-to-point message (undefined for the tied gradient). */
export function consumerOf(index: LoweredIndex, message: number): string | undefined {
  const { compute, computeIndex } = index;
  const { stages, microbatches, placement } = compute;
  const boundaries = stages - 1;
  if (message >= 2 * boundaries * microbatches) return undefined;
  const gradient = message >= boundaries * microbatches;
  const boundary = Math.floor(message / microbatches) % boundaries;
  const microbatch = message % microbatches;
  const stage = gradient ? boundary : boundary + 1;
  const position = (gradient ? computeIndex.inputGradientAt : computeIndex.forwardAt)[slotOf(compute, stage, microbatch)]!;
  return formatAction(compute.order[placement[stage]!]![position]!);
}

function requireCount(what: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new UsageError(`lowered schedule ${what} must be a positive integer (got ${String(value)})`);
  }
}

/** Checks one rank's communication against its compute and records each action's message. */
class CommunicationCheck {
  readonly sent: Uint8Array;
  readonly received: Uint8Array;
  readonly reduced: Int32Array; // [stages] global index of the stage's REDUCE_GRAD, -1 if none
  readonly lastWeight: Int32Array;
  readonly forwardOnly: boolean;
  readonly tied: boolean;

  constructor(
    readonly lowered: LoweredSchedule,
    readonly index: LoweredIndex,
    readonly computeAt: Int32Array, // [compute actions] global lowered index of each compute action, rank after rank
    readonly computeOffsets: Int32Array,
  ) {
    this.sent = new Uint8Array(index.messages);
    this.received = new Uint8Array(index.messages);
    this.reduced = new Int32Array(lowered.stages).fill(-1);
    this.lastWeight = lastWeightGradientAt(index.compute, index.computeIndex);
    this.forwardOnly = isForwardOnly(index.compute);
    this.tied = exchangesTiedGradient(index.compute, lowered.tiedEmbedding);
  }

  /** Global lowered index of the compute action at `position` in rank's compute list. */
  at(rank: number, position: number): number {
    return this.computeAt[this.computeOffsets[rank]! + position]!;
  }

  refuse(rank: number, a: CommAction, why: string): never {
    const shown = typeof a.stage === 'number' ? formatAction(a) : String(a.kind);
    throw new UsageError(`rank ${rank} runs ${shown}, but ${why}`);
  }

  /** Set by bounds (fields, not a returned object: this runs once per message). */
  private message = -1;
  private before = -1;
  private after = Infinity;

  private setBounds(message: number, before: number, after: number): void {
    this.message = message;
    this.before = before;
    this.after = after;
  }

  /** a's message, and the lowered indices it must come after (producer) and before (consumer). */
  private bounds(rank: number, a: CommAction): void {
    const { stages, microbatches, placement, replicas } = this.lowered;
    const { compute, computeIndex } = this.index;
    const stage = a.stage;
    const slot = slotOf(compute, stage, a.microbatch ?? 0);
    const boundaries = stages - 1;
    switch (a.kind) {
      case 'SEND_F':
      case 'RECV_F': {
        const send = a.kind === 'SEND_F';
        const peer = send ? stage + 1 : stage - 1;
        if (peer < 0 || peer >= stages) this.refuse(rank, a, `stage ${stage} is the ${send ? 'last' : 'first'} stage: no activation ${send ? 'leaves' : 'enters'} it`);
        if (placement[peer] === rank) this.refuse(rank, a, `stage ${peer} is on the same rank: stages on one rank hand data over in memory`);
        const forward = this.at(rank, computeIndex.forwardAt[slot]!);
        const message = (send ? stage : stage - 1) * microbatches + a.microbatch!;
        return send ? this.setBounds(message, forward, Infinity) : this.setBounds(message, -1, forward);
      }
      case 'SEND_B':
      case 'RECV_B': {
        const send = a.kind === 'SEND_B';
        const peer = send ? stage - 1 : stage + 1;
        if (peer < 0 || peer >= stages) this.refuse(rank, a, `stage ${stage} is the ${send ? 'first' : 'last'} stage: no gradient ${send ? 'leaves' : 'enters'} it`);
        if (placement[peer] === rank) this.refuse(rank, a, `stage ${peer} is on the same rank: stages on one rank hand data over in memory`);
        const backward = this.at(rank, computeIndex.inputGradientAt[slot]!);
        const message = (boundaries + (send ? stage - 1 : stage)) * microbatches + a.microbatch!;
        return send ? this.setBounds(message, backward, Infinity) : this.setBounds(message, -1, backward);
      }
      case 'SEND_TIED':
      case 'RECV_TIED': {
        if (stage !== 0 && stage !== stages - 1) this.refuse(rank, a, 'only the first and the last stage hold the tied embedding');
        if (!this.tied) {
          this.refuse(rank, a, this.lowered.tiedEmbedding ? 'one rank owns both ends of the tied embedding: nothing to exchange' : 'the schedule does not tie the embedding');
        }
        if (replicas > 1 && this.reduced[stage]! < 0) this.refuse(rank, a, `it comes before ${stage}REDUCE_GRAD, whose reduced gradient it exchanges`);
        const fromFirst = (stage === 0) === (a.kind === 'SEND_TIED');
        return this.setBounds(2 * boundaries * microbatches + (fromFirst ? 0 : 1), this.at(rank, this.lastWeight[stage]!), Infinity);
      }
      case 'REDUCE_GRAD':
        if (replicas === 1) this.refuse(rank, a, 'there is one replica: nothing to reduce');
        if (this.reduced[stage]! >= 0) this.refuse(rank, a, `stage ${stage}'s gradients are already reduced: once per step`);
        return this.setBounds(-1, this.at(rank, this.lastWeight[stage]!), Infinity);
      default:
        throw new UsageError(
          `rank ${rank} has an action of kind '${String((a as { kind: unknown }).kind)}'; kinds are F, B, I, W and SEND_F, RECV_F, SEND_B, RECV_B, SEND_TIED, RECV_TIED, REDUCE_GRAD`,
        );
    }
  }

  check(rank: number, global: number, a: CommAction): void {
    const { stages, microbatches, placement } = this.lowered;
    if (!Number.isInteger(a.stage) || a.stage < 0 || a.stage >= stages) this.refuse(rank, a, `stages run 0..${stages - 1}`);
    if (placement[a.stage] !== rank) this.refuse(rank, a, `stage ${a.stage} is placed on rank ${placement[a.stage]}`);
    if (hasMicrobatch(a.kind)) {
      if (!Number.isInteger(a.microbatch) || a.microbatch! < 0 || a.microbatch! >= microbatches) this.refuse(rank, a, `micro-batches run 0..${microbatches - 1}`);
    } else if (a.microbatch !== undefined) {
      this.refuse(rank, a, `${a.kind} is once per step and names no micro-batch`);
    }
    if (this.forwardOnly && a.kind !== 'SEND_F' && a.kind !== 'RECV_F') this.refuse(rank, a, 'the schedule runs forward only: there are no gradients');
    this.bounds(rank, a);
    const { message, before, after } = this;
    if (global < before) {
      if (a.kind === 'REDUCE_GRAD' || a.kind === 'SEND_TIED' || a.kind === 'RECV_TIED') {
        const verb = a.kind === 'REDUCE_GRAD' ? 'reduces' : a.kind === 'RECV_TIED' ? 'adds to' : 'sends';
        this.refuse(rank, a, `it comes before stage ${a.stage}'s last backward, which completes the gradient it ${verb}`);
      }
      this.refuse(rank, a, `it comes before ${formatAction(this.index.actions[before]!)}, which produces what it sends`);
    }
    if (global > after) this.refuse(rank, a, `it comes after ${formatAction(this.index.actions[after]!)}, which needs what it receives`);
    if (a.kind === 'REDUCE_GRAD') {
      this.reduced[a.stage] = global;
      this.index.role[global] = roleReduce;
      return;
    }
    const send = a.kind === 'SEND_F' || a.kind === 'SEND_B' || a.kind === 'SEND_TIED';
    const seen = send ? this.sent : this.received;
    if (seen[message]) this.refuse(rank, a, 'that message is already handled on this rank: each is sent once and received once');
    seen[message] = 1;
    this.index.message[global] = message;
    this.index.role[global] = send ? roleSend : roleReceive;
  }

  /** Every message that must cross between ranks has its send and its receive; every stage its reduction. */
  checkComplete(): void {
    const { stages, microbatches, placement, replicas } = this.lowered;
    const boundaries = stages - 1;
    const missing = (rank: number, what: string): never => {
      throw new UsageError(`rank ${rank} never runs ${what}`);
    };
    for (let boundary = 0; boundary < boundaries; boundary++) {
      const [lower, upper] = [placement[boundary]!, placement[boundary + 1]!];
      if (lower === upper) continue;
      for (let microbatch = 0; microbatch < microbatches; microbatch++) {
        const activation = boundary * microbatches + microbatch;
        if (!this.sent[activation]) missing(lower, `${boundary}SEND_F${microbatch}: ${boundary}F${microbatch}'s activation must go to rank ${upper}`);
        if (!this.received[activation]) missing(upper, `${boundary + 1}RECV_F${microbatch} before ${boundary + 1}F${microbatch}`);
        if (this.forwardOnly) continue;
        const gradient = boundaries * microbatches + activation;
        if (!this.sent[gradient]) missing(upper, `${boundary + 1}SEND_B${microbatch}: its input gradient must go to rank ${lower}`);
        if (!this.received[gradient]) missing(lower, `${boundary}RECV_B${microbatch} before the backward of stage ${boundary} micro-batch ${microbatch}`);
      }
    }
    if (this.tied) {
      for (const [end, other] of [[0, stages - 1], [stages - 1, 0]] as const) {
        const outgoing = 2 * boundaries * microbatches + (end === 0 ? 0 : 1);
        if (!this.sent[outgoing]) missing(placement[end]!, `${end}SEND_TIED: stage ${end}'s tied-embedding gradient must go to rank ${placement[other]}`);
        if (!this.received[outgoing]) missing(placement[other]!, `${other}RECV_TIED: it must add stage ${end}'s tied-embedding gradient`);
      }
    }
    if (replicas > 1 && !this.forwardOnly) {
      for (let stage = 0; stage < stages; stage++) {
        if (this.reduced[stage]! < 0) missing(placement[stage]!, `${stage}REDUCE_GRAD: with replicas, every stage's gradients are reduced after its last backward`);
      }
    }
  }
}

/**
 * Throws a one-line UsageError unless the lowered lists are consistent; returns their index. `known` is the
 * compute schedule's index when the caller built it already (the lowering of a schedule it indexed).
 */
export function indexLowered(lowered: LoweredSchedule, known?: { compute: Schedule; computeIndex: ScheduleIndex }): LoweredIndex {
  requireCount('replicas', lowered.replicas);
  if (typeof lowered.tiedEmbedding !== 'boolean') throw new UsageError('lowered schedule tiedEmbedding must be true or false');
  const compute = known?.compute ?? computePart(lowered);
  const computeIndex = known?.computeIndex ?? indexSchedule(compute);
  const { ranks, stages, microbatches } = compute;
  const offsets = new Int32Array(ranks + 1);
  lowered.order.forEach((actions, rank) => (offsets[rank + 1] = offsets[rank]! + actions.length));
  const actions: (Action | CommAction)[] = lowered.order.flat(); // not concat(...order): a spread of many ranks overflows the stack
  const messages = 2 * (stages - 1) * microbatches + 2;
  const message = new Int32Array(actions.length).fill(-1);
  const index = { compute, computeIndex, actions, offsets, message, role: new Uint8Array(actions.length), messages, channels: 2 * (stages - 1) + 2 };
  const computeOffsets = new Int32Array(ranks + 1);
  compute.order.forEach((list, rank) => (computeOffsets[rank + 1] = computeOffsets[rank]! + list.length));
  const computeAt = new Int32Array(computeOffsets[ranks]!);
  const check = new CommunicationCheck(lowered, index, computeAt, computeOffsets);
  for (let rank = 0, k = 0; rank < ranks; rank++) {
    for (let global = offsets[rank]!; global < offsets[rank + 1]!; global++) if (isCompute(actions[global]!)) computeAt[k++] = global;
  }
  for (let rank = 0; rank < ranks; rank++) {
    for (let global = offsets[rank]!; global < offsets[rank + 1]!; global++) {
      const a = actions[global]!;
      if (!isCompute(a)) check.check(rank, global, a);
    }
  }
  check.checkComplete();
  return index;
}
