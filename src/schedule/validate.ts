/**
 * The validator: shape and exactly-once (structure.ts), dependencies on one rank in order, and a progress
 * (deadlock) check of the lowered lists, with their real sends and receives. The progress model is stricter
 * than the runtime's asynchronous sends: each channel (a stage boundary and direction, or one end of the
 * tied exchange) holds at most one message not yet taken; a send blocks while its channel is full and a
 * receive blocks until its message is on the channel. A schedule that makes progress here makes progress
 * with unbounded buffers too. REDUCE_GRAD is a barrier of the owners of its stage in every replica; all
 * replicas run the same lists, so every member reaches it in the same state and it never holds up the check.
 */
import { UsageError } from '../errors.js';
import { formatAction } from './actions.js';
import { lowerIndexed } from './lower.js';
import { channelOf, consumerOf, indexLowered, producerOf, roleReceive, roleSend, type LoweredIndex } from './lowered-structure.js';
import { indexSchedule, slotOf, type ScheduleIndex } from './structure.js';
import type { LoweredSchedule, Schedule } from './types.js';

/**
 * Data flow on one rank runs forward in its list: F(s,m) after F(s-1,m), B or I(s,m) after F(s,m) and after
 * the input gradient of (s+1,m), W(s,m) after I(s,m), whenever the producer sits on the same rank. (The last
 * stage's backward starts from the loss its own F produced.)
 */
export function checkLocalOrder(schedule: Schedule, index: ScheduleIndex): void {
  const { placement, stages } = schedule;
  schedule.order.forEach((actions, rank) => {
    const refuse = (position: number, producer: number): never => {
      throw new UsageError(
        `deadlock: rank ${rank} runs ${formatAction(actions[position]!)} (position ${position}) before ${formatAction(actions[producer]!)} (position ${producer}), whose output it waits for`,
      );
    };
    for (let position = 0; position < actions.length; position++) {
      const { kind, stage, microbatch } = actions[position]!;
      let producer = -1;
      if (kind === 'F') {
        if (stage > 0 && placement[stage - 1] === rank) producer = index.forwardAt[slotOf(schedule, stage - 1, microbatch)]!;
      } else if (kind === 'W') {
        producer = index.inputGradientAt[slotOf(schedule, stage, microbatch)]!;
      } else {
        producer = index.forwardAt[slotOf(schedule, stage, microbatch)]!;
        if (producer > position) refuse(position, producer);
        if (stage < stages - 1 && placement[stage + 1] === rank) producer = index.inputGradientAt[slotOf(schedule, stage + 1, microbatch)]!;
      }
      if (producer > position) refuse(position, producer);
    }
  });
}

const onChannel = 1; // a message not yet sent is 0
const taken = 2;

/** Every rank running its lowered list under the blocking model, one untaken message per channel. */
class BlockingRun {
  /** [ranks] global index of the action each rank runs next. */
  readonly next: Int32Array;
  /** [messages] 0 not sent, onChannel or taken. */
  readonly state: Uint8Array;
  /** [channels] the message sitting untaken on that channel, or -1. */
  readonly holding: Int32Array;
  /** [messages] the rank that receives the message. */
  readonly receiver: Int32Array;
  /** [messages] the rank that sends it. */
  readonly sender: Int32Array;
  readonly pending: number[];
  readonly queued: Uint8Array;

  constructor(
    readonly schedule: LoweredSchedule,
    readonly index: LoweredIndex,
  ) {
    const { ranks } = schedule;
    const { offsets, role, message, messages, channels } = index;
    this.next = Int32Array.from(offsets.subarray(0, ranks));
    this.state = new Uint8Array(messages);
    this.holding = new Int32Array(channels).fill(-1);
    this.receiver = new Int32Array(messages).fill(-1);
    this.sender = new Int32Array(messages).fill(-1);
    for (let rank = 0; rank < ranks; rank++) {
      for (let global = offsets[rank]!; global < offsets[rank + 1]!; global++) {
        if (role[global] === roleSend) this.sender[message[global]!] = rank;
        if (role[global] === roleReceive) this.receiver[message[global]!] = rank;
      }
    }
    this.pending = Array.from({ length: ranks }, (_, rank) => rank);
    this.queued = new Uint8Array(ranks).fill(1);
  }

  wake(rank: number): void {
    if (this.queued[rank]) return;
    this.queued[rank] = 1;
    this.pending.push(rank);
  }

  /** Advances one rank as far as its channels allow. */
  advance(rank: number): void {
    const { index, state, holding } = this;
    const last = index.offsets[rank + 1]!;
    for (let global = this.next[rank]!; global < last; global++, this.next[rank] = global) {
      const role = index.role[global]!;
      if (role !== roleSend && role !== roleReceive) continue; // compute (ordered on its rank) and REDUCE_GRAD (a barrier all members reach together)
      const message = index.message[global]!;
      const channel = channelOf(index, message);
      if (role === roleSend) {
        if (holding[channel]! >= 0) return;
        holding[channel] = message;
        state[message] = onChannel;
        this.wake(this.receiver[message]!);
      } else {
        if (state[message] !== onChannel) return;
        state[message] = taken;
        holding[channel] = -1;
        this.wake(this.sender[message]!);
      }
    }
    this.next[rank] = last;
  }

  run(): void {
    while (this.pending.length > 0) {
      const rank = this.pending.pop()!;
      this.queued[rank] = 0;
      this.advance(rank);
    }
  }

  stuck(rank: number): boolean {
    return this.next[rank]! < this.index.offsets[rank + 1]!;
  }

  /** What a rank does at the point it stopped, in terms of the compute around it. */
  describe(rank: number): string {
    if (!this.stuck(rank)) return `rank ${rank} (finished)`;
    const global = this.next[rank]!;
    const message = this.index.message[global]!;
    const producer = producerOf(this.index, message);
    if (this.index.role[global] === roleSend) {
      return consumerOf(this.index, message) === undefined
        ? `rank ${rank} waiting to send ${producer.token}'s ${producer.payload}`
        : `rank ${rank} waiting to send after ${producer.token}`;
    }
    const consumer = consumerOf(this.index, message);
    return consumer === undefined
      ? `rank ${rank} waiting for ${producer.token}'s ${producer.payload} from rank ${producer.rank}`
      : `rank ${rank} waiting before ${consumer}`;
  }

  /** One line naming a stuck rank, its action, what it waits for, and where that partner is stuck. */
  deadlock(rank: number): string {
    const { schedule, index } = this;
    const global = this.next[rank]!;
    const message = index.message[global]!;
    const stuckRanks = Array.from({ length: schedule.ranks }, (_, r) => r).filter((r) => this.stuck(r)).length;
    const suffix = `(${stuckRanks} of ${schedule.ranks} ranks stuck; blocking model: one untaken message per channel)`;
    const producer = producerOf(index, message);
    if (index.role[global] === roleSend) {
      const held = producerOf(index, this.holding[channelOf(index, message)]!);
      const receiver = this.receiver[message]!;
      const where = consumerOf(index, message) === undefined ? '' : ` after ${producer.token}`;
      const what = where === '' ? `${producer.token}'s ${producer.payload}` : `its ${producer.payload}`;
      return `deadlock: rank ${rank} waits${where} to send ${what} to rank ${receiver}, but that channel still holds ${held.token}'s ${held.payload}, untaken by ${this.describe(receiver)} ${suffix}`;
    }
    const consumer = consumerOf(index, message);
    const where = consumer === undefined ? 'at the end of its list' : `before ${consumer}`;
    return `deadlock: rank ${rank} waits ${where} for ${producer.token}'s ${producer.payload} from rank ${producer.rank}, but that is ${this.describe(producer.rank)} ${suffix}`;
  }
}

function checkProgress(schedule: LoweredSchedule, index: LoweredIndex): void {
  const run = new BlockingRun(schedule, index);
  run.run();
  for (let rank = 0; rank < schedule.ranks; rank++) {
    if (run.stuck(rank)) throw new UsageError(run.deadlock(rank));
  }
}

/**
 * Checks lowered lists: their compute part as validateSchedule does, every communication action consistent
 * with it (lowered-structure.ts), and progress with real sends and receives. Returns the index it built.
 */
export function validateLoweredSchedule(lowered: LoweredSchedule): LoweredIndex {
  const index = indexLowered(lowered);
  checkLocalOrder(index.compute, index.computeIndex);
  checkProgress(lowered, index);
  return index;
}

/** Throws a UsageError naming the rank, the action and what it waits for; returns quietly for a sound schedule. */
export function validateSchedule(schedule: Schedule): void {
  const index = indexSchedule(schedule);
  checkLocalOrder(schedule, index);
  // The check runs on the lowering the runtime executes, the tied exchange included (the stricter case).
  const lowered = lowerIndexed(schedule, index, { replicas: 1, tiedEmbedding: true });
  checkProgress(lowered, indexLowered(lowered, { compute: schedule, computeIndex: index }));
}
