/** Words and numbers shared by every drawing of a timeline. */
import type { Schedule, Timeline, TimelineEvent } from '../schedule/index.js';

export const kindNames = { F: 'forward', B: 'backward', I: 'backward to input', W: 'backward to weights' } as const;

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

/** "1f1b · 4 ranks · 4 stages · 8 micro-batches · makespan 33 · mean bubble 27.3%" */
export function title(schedule: Schedule, timeline: Timeline): string {
  const chunks = schedule.stages / schedule.ranks;
  return [
    schedule.name,
    `${schedule.ranks} ranks`,
    `${schedule.stages} stages${Number.isInteger(chunks) && chunks > 1 ? ` (${chunks} chunks per rank)` : ''}`,
    `${schedule.microbatches} micro-batches`,
    `makespan ${shortNumber(timeline.makespan)}`,
    `mean bubble ${percent(meanBubble(timeline))}`,
  ].join(' · ');
}

/** What rank `rank` does at time `now`: the event it runs, idle (work still ahead) or done. */
export function activityAt(timeline: Timeline, rank: number, now: number): TimelineEvent | 'idle' | 'done' {
  let done = true;
  for (const event of timeline.events) {
    if (event.rank !== rank) continue;
    if (event.start <= now && now < event.end) return event;
    if (event.end > now) done = false;
  }
  return done ? 'done' : 'idle';
}
