/**
 * From events to a Timeline: the bookkeeping the simulator and the runtime's measurements share. Busy time
 * counts compute only (a transfer or a wait is not work); the stash changes only at a rank's own compute,
 * so its peak is counted in each rank's execution order: F stashes its micro-batch's activation on its
 * stage, B frees it, or W does when the backward is split (the weight gradient still needs the stage's input).
 */
import { isCompute } from './actions.js';
import { stagesPerRank } from './costs.js';
import type { Schedule, Timeline, TimelineEvent } from './types.js';

/**
 * `events` hold each rank's actions in its execution order (ranks may interleave), on any time axis:
 * the result starts at 0, the earliest start. activationBytes is [stages] bytes one micro-batch stashes there.
 */
export function timelineFromEvents(
  schedule: Pick<Schedule, 'ranks' | 'placement'>,
  events: readonly TimelineEvent[],
  activationBytes: readonly number[],
): Timeline {
  const { ranks } = schedule;
  let origin = Infinity;
  for (const { start } of events) origin = Math.min(origin, start);
  if (!Number.isFinite(origin)) origin = 0;
  const busy = new Array<number>(ranks).fill(0);
  const held = new Array<number>(ranks).fill(0); // [ranks] stashed activations right now
  const heldBytes = new Array<number>(ranks).fill(0);
  const peak = new Array<number>(ranks).fill(0);
  const peakBytes = new Array<number>(ranks).fill(0);
  let makespan = 0;
  for (const { rank, action, start, end } of events) {
    makespan = Math.max(makespan, end - origin);
    if (!isCompute(action)) continue;
    busy[rank]! += end - start;
    const bytes = activationBytes[action.stage]!;
    if (action.kind === 'F') {
      held[rank]!++;
      heldBytes[rank]! += bytes;
      peak[rank] = Math.max(peak[rank]!, held[rank]!);
      peakBytes[rank] = Math.max(peakBytes[rank]!, heldBytes[rank]!);
    } else if (action.kind === 'B' || action.kind === 'W') {
      held[rank]!--;
      heldBytes[rank]! -= bytes;
    }
  }
  const shifted = origin === 0 ? events : events.map(({ rank, action, start, end }) => ({ rank, action, start: start - origin, end: end - origin }));
  // A stage on a rank holding k stages carries 1/k of that rank's micro-batch activation.
  const share = stagesPerRank(schedule);
  return {
    events: shifted,
    makespan,
    busy,
    bubbleFraction: busy.map((time) => (makespan > 0 ? (makespan - time) / makespan : 0)),
    peakActivations: peak.map((count, rank) => (share[rank]! > 0 ? count / share[rank]! : 0)),
    peakActivationBytes: peakBytes,
  };
}
