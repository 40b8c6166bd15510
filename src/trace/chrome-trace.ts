/**
 * Chrome's Trace Event Format (chrome://tracing, Perfetto): one thread per rank, one complete event per
 * compute action, and a second thread per rank for communication that takes time.
 */
import { formatAction, isCompute, type Schedule, type Timeline } from '../schedule/index.js';
import { commNames, kindNames, title, visibleComm } from './summary.js';

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
  const comm = visibleComm(timeline);
  const metadata: TraceEvent[] = [{ name: 'process_name', ph: 'M', pid: 0, tid: 0, args: { name: title(schedule, timeline) } }];
  const thread = (tid: number, name: string): void => {
    metadata.push({ name: 'thread_name', ph: 'M', pid: 0, tid, args: { name } });
    metadata.push({ name: 'thread_sort_index', ph: 'M', pid: 0, tid, args: { sort_index: tid } });
  };
  for (let rank = 0; rank < schedule.ranks; rank++) thread(rank, `rank ${rank}`);
  if (comm.length > 0) for (let rank = 0; rank < schedule.ranks; rank++) thread(schedule.ranks + rank, `rank ${rank} comm`);
  const events = timeline.events.filter((event) => isCompute(event.action) || event.end > event.start);
  const actions: TraceEvent[] = events.map((event) => {
    const { action } = event;
    const compute = isCompute(action);
    return {
      name: formatAction(action),
      cat: compute ? kindNames[action.kind] : commNames[action.kind],
      ph: 'X',
      pid: 0,
      tid: compute ? event.rank : schedule.ranks + event.rank,
      ts: event.start * microsecondsPerSecond,
      dur: (event.end - event.start) * microsecondsPerSecond,
      args: { kind: action.kind, stage: action.stage, ...(action.microbatch === undefined ? {} : { microbatch: action.microbatch }) },
    };
  });
  return { traceEvents: [...metadata, ...actions], displayTimeUnit: 'ms' };
}
