/**
 * The simulator: runs every rank's action list against a cost model. Sends are asynchronous (a rank never
 * waits for its receiver); an action starts when its rank is free and its inputs exist, an input from another
 * rank arriving one message time after its producer ends. Stash is counted per rank in execution order:
 * F stashes its micro-batch's activation on that stage, B frees it, or W frees it when the backward is split
 * (the weight gradient still needs the stage's input).
 */
import { UsageError } from '../errors.js';
import { checkCostModel, stagesPerRank, type CostModel } from './costs.js';
import { actionAt, compileDependencies, dependenciesOf, type DependencyTable } from './dependencies.js';
import { indexSchedule, type ScheduleIndex } from './structure.js';
import type { Schedule, Timeline, TimelineEvent } from './types.js';

/** Start and end of every action: [actions], indexed as in the dependency table; throws if some rank is stuck. */
function runActions(
  schedule: Schedule,
  index: ScheduleIndex,
  costs: CostModel,
  table: DependencyTable,
): { starts: Float64Array; ends: Float64Array } {
  const { ranks, order } = schedule;
  const { offsets, producer, crossing, consumerRank } = table;
  const total = offsets[ranks]!;
  const duration = new Float64Array(total); // [actions]
  const delay = new Float64Array(total * 2); // [actions * 2] message time of each input
  order.forEach((actions, rank) => {
    actions.forEach((a, position) => {
      const global = offsets[rank]! + position;
      duration[global] = costs.duration[a.kind][a.stage]!;
      for (let k = 0; k < 2; k++) {
        const boundary = crossing[global * 2 + k]!;
        if (boundary >= 0) delay[global * 2 + k] = costs.commSeconds[boundary]!;
      }
    });
  });
  const starts = new Float64Array(total);
  const ends = new Float64Array(total).fill(-1); // -1 until the action has run
  const next = Int32Array.from(offsets.subarray(0, ranks)); // [ranks] global index each rank runs next
  const free = new Float64Array(ranks); // [ranks] when each rank finishes its last action so far
  const pending: number[] = Array.from({ length: ranks }, (_, rank) => ranks - 1 - rank);
  const queued = new Uint8Array(ranks).fill(1);

  while (pending.length > 0) {
    const rank = pending.pop()!;
    queued[rank] = 0;
    const last = offsets[rank + 1]!;
    let global = next[rank]!;
    let ready = free[rank]!;
    running: for (; global < last; global++) {
      let start = ready;
      for (let k = global * 2; k < global * 2 + 2; k++) {
        const input = producer[k]!;
        if (input < 0) continue;
        if (ends[input]! < 0) break running;
        start = Math.max(start, ends[input]! + delay[k]!);
      }
      starts[global] = start;
      ready = start + duration[global]!;
      ends[global] = ready;
      const consumer = consumerRank[global]!;
      if (consumer >= 0 && !queued[consumer]) {
        queued[consumer] = 1;
        pending.push(consumer);
      }
    }
    next[rank] = global;
    free[rank] = ready;
  }

  for (let rank = 0; rank < ranks; rank++) {
    const position = next[rank]! - offsets[rank]!;
    if (position === order[rank]!.length) continue;
    const waited = dependenciesOf(schedule, index, order[rank]![position]!).find(
      (d) => ends[offsets[d.rank]! + d.position]! < 0,
    )!;
    throw new UsageError(
      `deadlock: rank ${rank} cannot start ${actionAt(schedule, rank, position)}: it waits for ${actionAt(schedule, waited.rank, waited.position)} on rank ${waited.rank}, which never runs before it`,
    );
  }
  return { starts, ends };
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
  const table = compileDependencies(schedule, index);
  const { starts, ends } = runActions(schedule, index, costs, table);
  const events = new Array<TimelineEvent>(table.actions.length); // rank after rank, each in execution order
  let makespan = 0;
  const busy = schedule.order.map((_, rank) => {
    let total = 0;
    for (let global = table.offsets[rank]!; global < table.offsets[rank + 1]!; global++) {
      events[global] = { rank, action: table.actions[global]!, start: starts[global]!, end: ends[global]! };
      total += ends[global]! - starts[global]!;
      makespan = Math.max(makespan, ends[global]!);
    }
    return total;
  });
  const stash = peakStash(schedule, costs);
  return {
    events,
    makespan,
    busy,
    bubbleFraction: busy.map((time) => (makespan > 0 ? (makespan - time) / makespan : 0)),
    peakActivations: stash.activations,
    peakActivationBytes: stash.bytes,
  };
}
