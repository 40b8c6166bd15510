/** What a stretch of one rank's time went to, as a trace shows it. */
export type SpanKind = 'forward' | 'backward' | 'p2p' | 'collective' | 'optimizer';

/** One stretch of a rank's main thread, seconds on the trace's clock. */
export interface Span {
  readonly kind: SpanKind;
  readonly start: number;
  readonly end: number;
}

/** One training step of one rank: its window and what filled it (spans do not overlap). */
export interface StepSpans {
  readonly start: number;
  readonly end: number;
  readonly spans: readonly Span[];
  /** When the rank issued each point-to-point send of the step, where the trace shows them one by one. */
  readonly sends?: readonly number[];
}

/** What one trace file says about one rank. */
export interface RankTrace {
  readonly rank: number;
  /** The file it came from, for messages. */
  readonly source: string;
  readonly format: 'kineto' | 'conveyor';
  readonly steps: readonly StepSpans[];
  /** Micro-batches per step and chunks per rank where the trace names them (annotations, action names). */
  readonly microbatches?: number;
  readonly chunks?: number;
  /** The schedule where the trace names it (Conveyor's own traces). */
  readonly schedule?: string;
}

/** A half-open interval [start, end). */
export interface Interval {
  readonly start: number;
  readonly end: number;
}

/** The union of intervals, sorted and merged. */
export function union(intervals: readonly Interval[]): Interval[] {
  const sorted = [...intervals].filter((i) => i.end > i.start).sort((a, b) => a.start - b.start);
  const merged: Interval[] = [];
  for (const interval of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && interval.start <= last.end) merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, interval.end) };
    else merged.push({ start: interval.start, end: interval.end });
  }
  return merged;
}

/** `intervals` (merged) with every part covered by `cut` (merged) removed. */
export function subtract(intervals: readonly Interval[], cut: readonly Interval[]): Interval[] {
  const result: Interval[] = [];
  let j = 0;
  for (const interval of intervals) {
    let start = interval.start;
    while (j < cut.length && cut[j]!.end <= start) j++;
    let k = j;
    while (k < cut.length && cut[k]!.start < interval.end) {
      if (cut[k]!.start > start) result.push({ start, end: cut[k]!.start });
      start = Math.max(start, cut[k]!.end);
      k++;
    }
    if (start < interval.end) result.push({ start, end: interval.end });
  }
  return result;
}

/** The part of merged intervals inside [start, end). */
export function clip(intervals: readonly Interval[], start: number, end: number): Interval[] {
  return intervals.filter((i) => i.end > start && i.start < end).map((i) => ({ start: Math.max(i.start, start), end: Math.min(i.end, end) }));
}

/** From the earliest start to the latest end; a loop, as a trace may hold more intervals than a call takes arguments. */
export function extent(intervals: readonly Interval[]): Interval {
  let start = Infinity;
  let end = -Infinity;
  for (const interval of intervals) {
    start = Math.min(start, interval.start);
    end = Math.max(end, interval.end);
  }
  return { start, end };
}

export const totalLength = (intervals: readonly Interval[]): number => intervals.reduce((sum, i) => sum + (i.end - i.start), 0);
