/** Chrome's Trace Event Format (chrome://tracing, Perfetto): one thread per rank, one complete event per action. */
import { formatAction, type Schedule, type Timeline } from '../schedule/index.js';
import { kindNames, title } from './summary.js';

interface TraceEvent {
  readonly name: string;
  readonly ph: 'X' | 'M';
  readonly pid: number;
  readonly tid: number;
  readonly ts?: number;
  readonly dur?: number;
  readonly cat?: string;
  readonly args: Record<string, string | number>;
}

const microsecondsPerSecond = 1e6;

export function toChromeTrace(schedule: Schedule, timeline: Timeline): { traceEvents: TraceEvent[]; displayTimeUnit: 'ms' } {
  const metadata: TraceEvent[] = [{ name: 'process_name', ph: 'M', pid: 0, tid: 0, args: { name: title(schedule, timeline) } }];
  for (let rank = 0; rank < schedule.ranks; rank++) {
    metadata.push({ name: 'thread_name', ph: 'M', pid: 0, tid: rank, args: { name: `rank ${rank}` } });
    metadata.push({ name: 'thread_sort_index', ph: 'M', pid: 0, tid: rank, args: { sort_index: rank } });
  }
  const actions: TraceEvent[] = timeline.events.map((event) => ({
    name: formatAction(event.action),
    cat: kindNames[event.action.kind],
    ph: 'X',
    pid: 0,
    tid: event.rank,
    ts: event.start * microsecondsPerSecond,
    dur: (event.end - event.start) * microsecondsPerSecond,
    args: { kind: event.action.kind, stage: event.action.stage, microbatch: event.action.microbatch },
  }));
  return { traceEvents: [...metadata, ...actions], displayTimeUnit: 'ms' };
}
