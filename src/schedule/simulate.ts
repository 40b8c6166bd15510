/**
 * The simulator: runs every rank's action list against a cost model. Sends are asynchronous (a rank never
 * waits for its receiver); an action starts when its rank is free and its inputs exist, an input from another
 * rank arriving one message time after its producer ends. Stash is counted per rank in execution order:
 * F stashes its micro-batch's activation on that stage, B frees it, or W frees it when the backward is split
 * (the weight gradient still needs the stage's input).
 */
import { UsageError } from '../errors.js';
import { checkCostModel, stagesPerRank, type CostModel } from './costs.js';
import { actionAt, dependenciesOf } from './dependencies.js';
import { indexSchedule, type ScheduleIndex } from './structure.js';
import type { Schedule, Timeline, TimelineEvent } from './types.js';

/** Start and end of every action, or throws if some rank can never run its next action. */
function runActions(schedule: Schedule, index: ScheduleIndex, costs: CostModel): TimelineEvent[][] {
  const { ranks, order, placement } = schedule;
  const ends = order.map((actions) => new Float64Array(actions.length)); // [rank][position]
  const events: TimelineEvent[][] = order.map(() => []);
  const next = new Int32Array(ranks); // the position each rank runs next
  const free = new Float64Array(ranks); // when each rank finishes its last action so far
  const pending: number[] = Array.from({ length: ranks }, (_, rank) => ranks - 1 - rank);
  const queued = new Uint8Array(ranks).fill(1);
  const wake = (rank: number | undefined): void => {
    if (rank === undefined || queued[rank]) return;
    queued[rank] = 1;
    pending.push(rank);
  };

  while (pending.length > 0) {
    const rank = pending.pop()!;
    queued[rank] = 0;
    const actions = order[rank]!;
    while (next[rank]! < actions.length) {
      const position = next[rank]!;
      const a = actions[position]!;
      let ready = free[rank]!;
      let blocked = false;
      for (const dependency of dependenciesOf(schedule, index, a)) {
        if (dependency.position >= next[dependency.rank]!) {
          blocked = true;
          break;
        }
        const crossing = dependency.rank === rank ? 0 : costs.commSeconds[dependency.boundary]!;
        ready = Math.max(ready, ends[dependency.rank]![dependency.position]! + crossing);
      }
      if (blocked) break;
      const end = ready + costs.duration[a.kind][a.stage]!;
      ends[rank]![position] = end;
      free[rank] = end;
      events[rank]!.push({ rank, action: a, start: ready, end });
      next[rank] = position + 1;
      if (a.kind === 'F' || a.kind === 'B' || a.kind === 'I') {
        wake(placement[a.stage + 1]);
        wake(placement[a.stage - 1]);
      }
    }
  }

  for (let rank = 0; rank < ranks; rank++) {
    const position = next[rank]!;
    if (position === order[rank]!.length) continue;
    const waited = dependenciesOf(schedule, index, order[rank]![position]!).find((d) => d.position >= next[d.rank]!)!;
    throw new UsageError(
      `deadlock: rank ${rank} cannot start ${actionAt(schedule, rank, position)}: it waits for ${actionAt(schedule, waited.rank, waited.position)} on rank ${waited.rank}, which never runs before it`,
    );
  }
  return events;
}

/** Per rank: most stashed activations at once, in micro-batches' worth and in bytes. */
function peakStash(schedule: Schedule, costs: CostModel): { activations: number[]; bytes: number[] } {
  const share = stagesPerRank(schedule);
  const activations: number[] = [];
  const bytes: number[] = [];
  schedule.order.forEach((actions, rank) => {
    let heldCount = 0;
    let heldBytes = 0;
    let peakCount = 0;
    let peakBytes = 0;
    for (const a of actions) {
      const size = costs.activationBytes[a.stage]!;
      if (a.kind === 'F') {
        heldCount++;
        heldBytes += size;
        peakCount = Math.max(peakCount, heldCount);
        peakBytes = Math.max(peakBytes, heldBytes);
      } else if (a.kind === 'B' || a.kind === 'W') {
        heldCount--;
        heldBytes -= size;
      }
    }
    // A stage on a rank holding k stages carries 1/k of that rank's micro-batch activation.
    activations.push(share[rank]! > 0 ? peakCount / share[rank]! : 0);
    bytes.push(peakBytes);
  });
  return { activations, bytes };
}

export function simulate(schedule: Schedule, costs: CostModel): Timeline {
  const index = indexSchedule(schedule);
  checkCostModel(schedule, costs);
  const perRank = runActions(schedule, index, costs);
  let makespan = 0;
  const busy = perRank.map((events) => {
    let total = 0;
    for (const event of events) {
      total += event.end - event.start;
      makespan = Math.max(makespan, event.end);
    }
    return total;
  });
  const stash = peakStash(schedule, costs);
  return {
    events: perRank.flat(),
    makespan,
    busy,
    bubbleFraction: busy.map((time) => (makespan > 0 ? (makespan - time) / makespan : 0)),
    peakActivations: stash.activations,
    peakActivationBytes: stash.bytes,
  };
}
