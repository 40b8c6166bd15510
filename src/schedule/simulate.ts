/**
 * The simulator: runs every rank's lowered list against a cost model. A rank runs its list in order;
 * compute takes its duration; a send is issued when the rank reaches it and its transfer takes the
 * message time without holding the rank (messages do not contend for links); a receive holds the rank
 * until its message has arrived and takes it at that instant; REDUCE_GRAD is issued at once and runs on the rank's collective stream,
 * one reduction after another, overlapping compute; SEND_TIED goes out once its stage's reduction is done.
 * The step ends with the last event, so communication that is not hidden behind compute grows the bubble.
 */
import { UsageError } from '../errors.js';
import { formatAction } from './actions.js';
import { checkCostModel, type CostModel } from './costs.js';
import { lowerIndexed } from './lower.js';
import { indexSchedule } from './structure.js';
import { channelOf, consumerOf, indexLowered, producerOf, roleCompute, roleReceive, roleReduce, roleSend, type LoweredIndex } from './lowered-structure.js';
import { timelineFromEvents } from './timeline.js';
import { checkLocalOrder } from './validate.js';
import type { Action, LoweredSchedule, Schedule, Timeline, TimelineEvent } from './types.js';

function isLowered(schedule: Schedule | LoweredSchedule): schedule is LoweredSchedule {
  return 'replicas' in schedule;
}

/** Seconds each message takes in flight: [messages]. */
function flightTimes(index: LoweredIndex, costs: CostModel): Float64Array {
  const { stages } = index.compute;
  const boundaries = stages - 1;
  const seconds = new Float64Array(index.messages);
  for (let message = 0; message < index.messages; message++) {
    const channel = channelOf(index, message);
    seconds[message] = channel < 2 * boundaries ? costs.commSeconds[channel % boundaries]! : (costs.tiedSeconds ?? 0);
  }
  return seconds;
}

/** Start and end of every lowered action: [actions] each, indexed as index.actions; throws if some rank is stuck. */
function runActions(schedule: LoweredSchedule, index: LoweredIndex, costs: CostModel): { starts: Float64Array; ends: Float64Array } {
  const { ranks } = schedule;
  const { offsets, actions, message, role } = index;
  const total = offsets[ranks]!;
  const flight = flightTimes(index, costs);
  const arrival = new Float64Array(index.messages).fill(-1); // [messages] when each arrives, -1 until sent
  const receiver = new Int32Array(index.messages);
  for (let rank = 0; rank < ranks; rank++) {
    for (let global = offsets[rank]!; global < offsets[rank + 1]!; global++) {
      if (role[global] === roleReceive) receiver[message[global]!] = rank;
    }
  }
  const reduced = new Float64Array(schedule.stages); // [stages] when each stage's reduction completes
  const starts = new Float64Array(total);
  const ends = new Float64Array(total);
  const next = Int32Array.from(offsets.subarray(0, ranks)); // [ranks] global index each rank runs next
  const free = new Float64Array(ranks); // [ranks] when each rank finishes its last action so far
  const collectiveFree = new Float64Array(ranks); // [ranks] when each rank's collective stream is free
  const pending: number[] = Array.from({ length: ranks }, (_, rank) => ranks - 1 - rank);
  const queued = new Uint8Array(ranks).fill(1);

  while (pending.length > 0) {
    const rank = pending.pop()!;
    queued[rank] = 0;
    const last = offsets[rank + 1]!;
    let global = next[rank]!;
    let now = free[rank]!;
    for (; global < last; global++) {
      const a = actions[global]!;
      let start = now;
      let end = now;
      const kind = role[global];
      if (kind === roleCompute) {
        end = start + costs.duration[(a as Action).kind][a.stage]!;
        now = end;
      } else if (kind === roleReduce) {
        start = Math.max(now, collectiveFree[rank]!);
        end = start + (costs.reduceSeconds?.[a.stage] ?? 0);
        collectiveFree[rank] = end;
        reduced[a.stage] = end;
      } else if (kind === roleSend) {
        if (a.kind === 'SEND_TIED') start = Math.max(now, reduced[a.stage]!);
        const sent = message[global]!;
        end = start + flight[sent]!;
        arrival[sent] = end;
        const to = receiver[sent]!;
        if (!queued[to]) {
          queued[to] = 1;
          pending.push(to);
        }
      } else {
        const arrived = arrival[message[global]!]!;
        if (arrived < 0) break;
        start = end = now = Math.max(now, arrived); // the wait before it is idle time, drawn as such
      }
      starts[global] = start;
      ends[global] = end;
    }
    next[rank] = global;
    free[rank] = now;
  }

  for (let rank = 0; rank < ranks; rank++) {
    const global = next[rank]!;
    if (global === offsets[rank + 1]!) continue;
    const waited = message[global]!;
    const producer = producerOf(index, waited);
    const consumer = consumerOf(index, waited);
    throw new UsageError(
      `deadlock: rank ${rank} cannot run ${formatAction(actions[global]!)}${consumer === undefined ? '' : ` (before ${consumer})`}: it waits for ${producer.token}'s ${producer.payload} from rank ${producer.rank}, which is never sent before it`,
    );
  }
  return { starts, ends };
}

/**
 * A compute schedule is simulated as lowered for one replica without a tied exchange; pass a lowered
 * schedule (lowerSchedule) to include the tied exchange and the data-parallel reduction.
 */
export function simulate(schedule: Schedule | LoweredSchedule, costs: CostModel): Timeline {
  let lowered: LoweredSchedule;
  let index: LoweredIndex;
  if (isLowered(schedule)) {
    lowered = schedule;
    index = indexLowered(lowered);
  } else {
    const computeIndex = indexSchedule(schedule);
    lowered = lowerIndexed(schedule, computeIndex, { replicas: 1, tiedEmbedding: false });
    index = indexLowered(lowered, { compute: schedule, computeIndex });
  }
  checkLocalOrder(index.compute, index.computeIndex);
  checkCostModel(index.compute, costs);
  const { starts, ends } = runActions(lowered, index, costs);
  const events = new Array<TimelineEvent>(index.actions.length); // rank after rank, each in execution order
  for (let rank = 0; rank < lowered.ranks; rank++) {
    for (let global = index.offsets[rank]!; global < index.offsets[rank + 1]!; global++) {
      events[global] = { rank, action: index.actions[global]!, start: starts[global]!, end: ends[global]! };
    }
  }
  return timelineFromEvents(lowered, events, costs.activationBytes);
}
