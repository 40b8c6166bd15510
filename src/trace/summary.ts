/** Words and numbers shared by every drawing of a timeline. */
import { isCompute, type Action, type CommKind, type Schedule, type Timeline, type TimelineEvent } from '../schedule/index.js';

export const kindNames = { F: 'forward', B: 'backward', I: 'backward to input', W: 'backward to weights' } as const;

export const commNames: Record<CommKind, string> = {
  SEND_F: 'sending an activation',
  RECV_F: 'waiting for an activation',
  SEND_B: 'sending a gradient',
  RECV_B: 'waiting for a gradient',
  SEND_TIED: 'sending the tied-embedding gradient',
  RECV_TIED: 'waiting for the tied-embedding gradient',
  REDUCE_GRAD: 'reducing gradients across replicas',
};

/** An event of a compute action, which occupies its rank. */
export type ComputeEvent = TimelineEvent & { readonly action: Action };

export function computeEvents(timeline: Timeline): ComputeEvent[] {
  return timeline.events.filter((event): event is ComputeEvent => isCompute(event.action));
}

/** Communication that takes time (a transfer, a wait, a reduction); instantaneous ones are not drawn. */
export function visibleComm(timeline: Timeline): TimelineEvent[] {
  return timeline.events.filter((event) => !isCompute(event.action) && event.end > event.start);
}

export function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

/** Up to three decimals, no trailing zeros: 4, 2.5, 0.333. */
export function shortNumber(value: number): string {
  return String(Number(value.toFixed(3)));
}

export function meanBubble(timeline: Timeline): number {
  const { bubbleFraction } = timeline;
  return bubbleFraction.reduce((sum, fraction) => sum + fraction, 0) / Math.max(bubbleFraction.length, 1);
}

/** "1 rank", "4 ranks". */
const counted = (count: number, one: string, many = `${one}s`): string => `${count} ${count === 1 ? one : many}`;

/** "1f1b · 4 ranks · 4 stages · 8 micro-batches · makespan 33 · mean bubble 27.3%" */
export function title(schedule: Schedule, timeline: Timeline): string {
  const chunks = schedule.stages / schedule.ranks;
  return [
    schedule.name,
    counted(schedule.ranks, 'rank'),
    `${counted(schedule.stages, 'stage')}${Number.isInteger(chunks) && chunks > 1 ? ` (${chunks} chunks per rank)` : ''}`,
    counted(schedule.microbatches, 'micro-batch', 'micro-batches'),
    `makespan ${shortNumber(timeline.makespan)}`,
    `mean bubble ${percent(meanBubble(timeline))}`,
  ].join(' · ');
}

/** What rank `rank` computes at time `now`: the compute event it runs, idle (work still ahead) or done. */
export function activityAt(timeline: Timeline, rank: number, now: number): ComputeEvent | 'idle' | 'done' {
  let done = true;
  // waiting for a message is idle time, so only compute counts as activity
  for (const event of computeEvents(timeline)) {
    if (event.rank !== rank) continue;
    if (event.start <= now && now < event.end) return event;
    if (event.end > now) done = false;
  }
  return done ? 'done' : 'idle';
}

/** Seconds rank `rank` is idle between the start of its first action and the end of its last. */
export function idleWithin(timeline: Timeline, rank: number): number {
  let first = Infinity;
  let last = 0;
  let busy = 0;
  for (const event of computeEvents(timeline)) {
    if (event.rank !== rank) continue;
    first = Math.min(first, event.start);
    last = Math.max(last, event.end);
    busy += event.end - event.start;
  }
  return Number.isFinite(first) ? last - first - busy : 0;
}
