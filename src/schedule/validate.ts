/**
 * The validator: shape and exactly-once (structure.ts), dependencies on one rank in order, and a progress
 * check under blocking communication between neighbouring stages. The progress model is stricter than the
 * runtime's asynchronous sends: each stage boundary has one channel forward (activations) and one back
 * (gradients), each holding at most one message not yet taken; a send blocks while its channel is full and a
 * receive blocks until its message is on the channel. A schedule that makes progress here makes progress
 * with unbounded (asynchronous) sends too. Stages on the same rank hand data over in memory.
 */
import { UsageError } from '../errors.js';
import { actionAt, consumerOf, dependenciesOf, payloadOf } from './dependencies.js';
import { indexSchedule, slotOf, type ScheduleIndex } from './structure.js';
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

/** Messages are named by what produced them: 0 for activations (an F), 1 for gradients (a B or I). */
function flowOf(a: Action): 0 | 1 {
  return a.kind === 'F' ? 0 : 1;
}

interface RankState {
  /** The action the rank runs next (or has just run, while `sending`). */
  position: number;
  /** True while the rank waits to put the output of action `position` on its link. */
  sending: boolean;
}

class LinkedRanks {
  readonly state: RankState[];
  /** [flow][slot] 1 while that message sits on its link, 2 once taken. */
  readonly message: [Uint8Array, Uint8Array];
  /** [flow * stages + boundary] the micro-batch whose message sits on that channel not yet taken, or -1. */
  readonly onChannel: Int32Array;
  readonly pending: number[];
  readonly queued: Uint8Array;

  constructor(
    readonly schedule: Schedule,
    readonly index: ScheduleIndex,
  ) {
    const { ranks, stages, microbatches } = schedule;
    this.state = Array.from({ length: ranks }, () => ({ position: 0, sending: false }));
    this.message = [new Uint8Array(stages * microbatches), new Uint8Array(stages * microbatches)];
    this.onChannel = new Int32Array(2 * stages).fill(-1);
    this.pending = Array.from({ length: ranks }, (_, rank) => rank);
    this.queued = new Uint8Array(ranks).fill(1);
  }

  wake(rank: number): void {
    if (this.queued[rank]) return;
    this.queued[rank] = 1;
    this.pending.push(rank);
  }

  /** Advances one rank as far as its links allow. */
  advance(rank: number): void {
    const { schedule, index } = this;
    const actions = schedule.order[rank]!;
    const state = this.state[rank]!;
    while (state.position < actions.length) {
      const a = actions[state.position]!;
      if (state.sending) {
        const consumer = consumerOf(schedule, index, a)!;
        const channel = flowOf(a) * schedule.stages + consumer.boundary;
        if (this.onChannel[channel]! >= 0) return;
        const slot = slotOf(schedule, a.stage, a.microbatch);
        this.onChannel[channel] = a.microbatch;
        this.message[flowOf(a)][slot] = 1;
        this.wake(consumer.rank);
        state.sending = false;
        state.position++;
        continue;
      }
      for (const dependency of dependenciesOf(schedule, index, a)) {
        if (dependency.rank === rank) continue;
        const producer = schedule.order[dependency.rank]![dependency.position]!;
        const slot = slotOf(schedule, producer.stage, producer.microbatch);
        const flow = flowOf(producer);
        if (this.message[flow][slot] === 0) return;
        if (this.message[flow][slot] === 1) {
          this.message[flow][slot] = 2;
          this.onChannel[flow * schedule.stages + dependency.boundary] = -1;
          this.wake(dependency.rank);
        }
      }
      const consumer = consumerOf(schedule, index, a);
      if (consumer !== undefined && consumer.rank !== rank) state.sending = true;
      else state.position++;
    }
  }

  run(): void {
    while (this.pending.length > 0) {
      const rank = this.pending.pop()!;
      this.queued[rank] = 0;
      this.advance(rank);
    }
  }

  describe(rank: number): string {
    const { position, sending } = this.state[rank]!;
    const actions = this.schedule.order[rank]!;
    if (position >= actions.length) return `rank ${rank} (finished)`;
    if (sending) return `rank ${rank} waiting to send after ${actionAt(this.schedule, rank, position)}`;
    return `rank ${rank} waiting before ${actionAt(this.schedule, rank, position)}`;
  }

  /** One line naming the first stuck rank, its action, what it waits for, and where that partner is stuck. */
  deadlock(rank: number): string {
    const { schedule, index } = this;
    const { position, sending } = this.state[rank]!;
    const a = schedule.order[rank]![position]!;
    const stuck = this.state.filter((s, r) => s.position < schedule.order[r]!.length).length;
    const suffix = `(${stuck} of ${schedule.ranks} ranks stuck; blocking model: one untaken message per channel)`;
    if (sending) {
      const consumer = consumerOf(schedule, index, a)!;
      const held = this.onChannel[flowOf(a) * schedule.stages + consumer.boundary]!;
      return `deadlock: rank ${rank} waits after ${actionAt(schedule, rank, position)} to send its ${payloadOf(a)} to rank ${consumer.rank}, but that channel still holds micro-batch ${held}'s ${payloadOf(a)}, untaken by ${this.describe(consumer.rank)} ${suffix}`;
    }
    const waited = dependenciesOf(schedule, index, a).find((d) => {
      if (d.rank === rank) return false;
      const producer = schedule.order[d.rank]![d.position]!;
      return this.message[flowOf(producer)][slotOf(schedule, producer.stage, producer.microbatch)] === 0;
    })!;
    const producer = schedule.order[waited.rank]![waited.position]!;
    return `deadlock: rank ${rank} waits before ${actionAt(schedule, rank, position)} for ${actionAt(schedule, waited.rank, waited.position)}'s ${payloadOf(producer)} from rank ${waited.rank}, but that is ${this.describe(waited.rank)} ${suffix}`;
  }
}

function checkProgress(schedule: Schedule, index: ScheduleIndex): void {
  const ranks = new LinkedRanks(schedule, index);
  ranks.run();
  for (let rank = 0; rank < schedule.ranks; rank++) {
    if (ranks.state[rank]!.position < schedule.order[rank]!.length) throw new UsageError(ranks.deadlock(rank));
  }
}

/** Throws a UsageError naming the rank, the action and what it waits for; returns quietly for a sound schedule. */
export function validateSchedule(schedule: Schedule): void {
  const index = indexSchedule(schedule);
  checkLocalOrder(schedule, index);
  checkProgress(schedule, index);
}
