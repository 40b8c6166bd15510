/**
 * The validator: shape and exactly-once (structure.ts), dependencies on one rank in order, and a progress
 * check under blocking communication between neighbouring stages. The progress model is stricter than the
 * runtime's asynchronous sends: each stage boundary has one channel forward (activations) and one back
 * (gradients), each holding at most one message not yet taken; a send blocks while its channel is full and a
 * receive blocks until its message is on the channel. A schedule that makes progress here makes progress
 * with unbounded (asynchronous) sends too. Stages on the same rank hand data over in memory.
 */
import { UsageError } from '../errors.js';
import { formatAction } from './actions.js';
import { actionAt, compileDependencies, dependenciesOf, payloadOf, type DependencyTable } from './dependencies.js';
import { indexSchedule, type ScheduleIndex } from './structure.js';
import type { Action, Schedule } from './types.js';

function checkLocalOrder(schedule: Schedule, index: ScheduleIndex): void {
  schedule.order.forEach((actions, rank) => {
    actions.forEach((a, position) => {
      for (const dependency of dependenciesOf(schedule, index, a)) {
        if (dependency.rank === rank && dependency.position > position) {
          throw new UsageError(
            `deadlock: rank ${rank} runs ${actionAt(schedule, rank, position)} (position ${position}) before ${actionAt(schedule, rank, dependency.position)} (position ${dependency.position}), whose output it waits for`,
          );
        }
      }
    });
  });
}

/** The channel a message travels on: one per stage boundary and direction, [2 * stages]. */
function channelOf(schedule: Schedule, producer: Action, boundary: number): number {
  return (producer.kind === 'F' ? 0 : schedule.stages) + boundary;
}

/** Every rank running its list under the blocking model, one untaken message per channel. */
class BlockingRun {
  /** [ranks] global index of the action each rank runs next (or has just run, while sending). */
  readonly next: Int32Array;
  /** [ranks] 1 while the rank waits to put its last action's output on a full channel. */
  readonly sending: Uint8Array;
  /** [actions] per producing action: 0 not sent, 1 on its channel, 2 taken by the receiver. */
  readonly message: Uint8Array;
  /** [2 * stages] the producing action whose message sits on that channel untaken, or -1. */
  readonly onChannel: Int32Array;
  readonly pending: number[];
  readonly queued: Uint8Array;

  constructor(
    readonly schedule: Schedule,
    readonly table: DependencyTable,
  ) {
    const { ranks, stages } = schedule;
    this.next = Int32Array.from(table.offsets.subarray(0, ranks));
    this.sending = new Uint8Array(ranks);
    this.message = new Uint8Array(table.actions.length);
    this.onChannel = new Int32Array(2 * stages).fill(-1);
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
    const { schedule, table, message, onChannel } = this;
    const last = table.offsets[rank + 1]!;
    for (let global = this.next[rank]!; global < last; global = this.next[rank]!) {
      const a = table.actions[global]!;
      if (this.sending[rank]) {
        const channel = channelOf(schedule, a, table.consumerCrossing[global]!);
        if (onChannel[channel]! >= 0) return;
        onChannel[channel] = global;
        message[global] = 1;
        this.wake(table.consumerRank[global]!);
        this.sending[rank] = 0;
        this.next[rank] = global + 1;
        continue;
      }
      for (let k = global * 2; k < global * 2 + 2; k++) {
        const producer = table.producer[k]!;
        if (producer < 0 || table.crossing[k]! < 0) continue;
        if (message[producer] === 0) return;
        if (message[producer] === 1) {
          message[producer] = 2;
          const sent = table.actions[producer]!;
          onChannel[channelOf(schedule, sent, table.crossing[k]!)] = -1;
          this.wake(schedule.placement[sent.stage]!);
        }
      }
      if (table.consumerRank[global]! >= 0) this.sending[rank] = 1;
      else this.next[rank] = global + 1;
    }
  }

  run(): void {
    while (this.pending.length > 0) {
      const rank = this.pending.pop()!;
      this.queued[rank] = 0;
      this.advance(rank);
    }
  }

  stuck(rank: number): boolean {
    return this.next[rank]! < this.table.offsets[rank + 1]!;
  }

  describe(rank: number): string {
    if (!this.stuck(rank)) return `rank ${rank} (finished)`;
    const token = formatAction(this.table.actions[this.next[rank]!]!);
    return this.sending[rank] ? `rank ${rank} waiting to send after ${token}` : `rank ${rank} waiting before ${token}`;
  }

  /** One line naming a stuck rank, its action, what it waits for, and where that partner is stuck. */
  deadlock(rank: number): string {
    const { schedule, table } = this;
    const global = this.next[rank]!;
    const a = table.actions[global]!;
    const stuckRanks = Array.from({ length: schedule.ranks }, (_, r) => r).filter((r) => this.stuck(r)).length;
    const suffix = `(${stuckRanks} of ${schedule.ranks} ranks stuck; blocking model: one untaken message per channel)`;
    if (this.sending[rank]) {
      const held = table.actions[this.onChannel[channelOf(schedule, a, table.consumerCrossing[global]!)]!]!;
      const receiver = table.consumerRank[global]!;
      return `deadlock: rank ${rank} waits after ${formatAction(a)} to send its ${payloadOf(a)} to rank ${receiver}, but that channel still holds ${formatAction(held)}'s ${payloadOf(held)}, untaken by ${this.describe(receiver)} ${suffix}`;
    }
    let k = global * 2;
    while (table.producer[k]! < 0 || table.crossing[k]! < 0 || this.message[table.producer[k]!] !== 0) k++;
    const producer = table.actions[table.producer[k]!]!;
    const sender = schedule.placement[producer.stage]!;
    return `deadlock: rank ${rank} waits before ${formatAction(a)} for ${formatAction(producer)}'s ${payloadOf(producer)} from rank ${sender}, but that is ${this.describe(sender)} ${suffix}`;
  }
}

function checkProgress(schedule: Schedule, index: ScheduleIndex): void {
  const run = new BlockingRun(schedule, compileDependencies(schedule, index));
  run.run();
  for (let rank = 0; rank < schedule.ranks; rank++) {
    if (run.stuck(rank)) throw new UsageError(run.deadlock(rank));
  }
}

/** Throws a UsageError naming the rank, the action and what it waits for; returns quietly for a sound schedule. */
export function validateSchedule(schedule: Schedule): void {
  const index = indexSchedule(schedule);
  checkLocalOrder(schedule, index);
  checkProgress(schedule, index);
}
