import { UsageError } from '../../errors.js';
import { quote } from '../../quote.js';
import { clip, extent, subtract, union, type Interval, type RankTrace, type Span, type SpanKind } from './spans.js';

interface ConveyorEvent {
  readonly name: string;
  readonly ph: string;
  readonly tid: number;
  readonly ts?: number;
  readonly dur?: number;
  readonly args?: { readonly kind?: string; readonly stage?: number; readonly microbatch?: number; readonly name?: string };
}

/** Whether a parsed trace is one `conveyor train --trace` or `conveyor schedule` wrote: a rank per thread, actions as args. */
export function isConveyorTrace(json: unknown): boolean {
  const events = (json as { traceEvents?: unknown }).traceEvents;
  return Array.isArray(events) && events.some((event) => {
    const e = event as ConveyorEvent | null;
    return e !== null && typeof e === 'object' && e.ph === 'X' && typeof e.args?.kind === 'string' && /^[FBIW]$/.test(e.args.kind);
  });
}

const seconds = (microseconds: number): number => microseconds / 1e6;

/**
 * Conveyor's own Chrome trace (src/trace/chrome-trace.ts): one thread per rank for compute, one per rank for its
 * communication, one step, one clock. Each rank's window is the whole step; compute is its F (forward) and B, I, W
 * (backward) actions, gradient reduction collective; every other moment of the step a rank spends waiting for its
 * peers, the only thing the runtime's rank loop waits on.
 */
export function readConveyorTrace(json: unknown, source: string): RankTrace[] {
  const all = (json as { traceEvents: ConveyorEvent[] }).traceEvents;
  const threadNames = new Map<number, string>();
  let title = '';
  for (const event of all) {
    if (event.ph !== 'M') continue;
    if (event.name === 'thread_name' && typeof event.args?.name === 'string') threadNames.set(event.tid, event.args.name);
    if (event.name === 'process_name' && typeof event.args?.name === 'string') title = event.args.name;
  }
  const timed = all.filter((e): e is ConveyorEvent & { ts: number; dur: number } =>
    e.ph === 'X' && typeof e.ts === 'number' && typeof e.dur === 'number' && typeof e.args?.kind === 'string');
  if (timed.length === 0) throw new UsageError(`${source} has no timed actions`);
  const rankOf = (tid: number): number => {
    const match = /^rank (\d+)( comm)?$/.exec(threadNames.get(tid) ?? '');
    if (match === null) throw new UsageError(`${source}: thread ${quote(String(tid))} is not named 'rank <r>' or 'rank <r> comm'`);
    return Number(match[1]);
  };
  const { start, end } = extent(timed.map((e) => ({ start: seconds(e.ts), end: seconds(e.ts + e.dur) })));
  const ranks = [...new Set(timed.map((e) => rankOf(e.tid)))].sort((a, b) => a - b);
  const microbatches = new Set(timed.filter((e) => e.args!.microbatch !== undefined && /^[FBIW]$/.test(e.args!.kind!)).map((e) => e.args!.microbatch));
  const schedule = title.split(' · ')[0];
  return ranks.map((rank) => {
    const mine = timed.filter((e) => rankOf(e.tid) === rank);
    const of = (kinds: RegExp): Interval[] =>
      union(mine.filter((e) => kinds.test(e.args!.kind!)).map((e) => ({ start: seconds(e.ts), end: seconds(e.ts + e.dur) })));
    const forward = of(/^F$/);
    const backward = of(/^[BIW]$/);
    const compute = union([...forward, ...backward]);
    const collective = subtract(of(/^REDUCE_GRAD$/), compute);
    // Between its actions a rank of Conveyor's runtime does nothing but wait for an activation or a gradient.
    const p2p = subtract(subtract([{ start, end }], compute), collective);
    const kinds: [SpanKind, Interval[]][] = [['forward', forward], ['backward', backward], ['p2p', p2p], ['collective', collective]];
    const spans = kinds.flatMap(([kind, intervals]) => clip(intervals, start, end).map((i): Span => ({ kind, ...i })));
    const chunks = new Set(mine.filter((e) => /^[FBIW]$/.test(e.args!.kind!)).map((e) => e.args!.stage)).size;
    return {
      rank, source, format: 'conveyor' as const, steps: [{ start, end, spans: spans.sort((a, b) => a.start - b.start) }],
      microbatches: microbatches.size, chunks, ...(schedule ? { schedule } : {}),
    };
  });
}
