import { UsageError } from '../../errors.js';
import { clip, extent, subtract, totalLength, union, type Interval, type RankTrace, type Span, type SpanKind, type StepSpans } from './spans.js';

/** One complete event of a Chrome trace, times in microseconds. */
interface TraceEvent {
  readonly name: string;
  readonly ph: string;
  readonly ts: number;
  readonly dur: number;
  readonly pid: number | string;
  readonly tid: number | string;
  readonly cat?: string;
  readonly args?: Readonly<Record<string, unknown>>;
}

/** Communication operators as c10d, gloo, NCCL and the pipelining runtime name them. */
const COMM_PREFIX = /^(c10d::|gloo:|nccl:|nccl[A-Z]|record_param_comms$)/;

/** Whether an event is a point-to-point transfer (or a wait for one), a collective, or neither. */
function commKind(event: TraceEvent): 'p2p' | 'collective' | undefined {
  if (/^PP:\d+(SEND|RECV)_/.test(event.name)) return 'p2p';
  if (!COMM_PREFIX.test(event.name)) return undefined;
  const collective = event.args?.['Collective name'];
  const name = typeof collective === 'string' ? collective : event.name;
  return /send|recv/i.test(name) ? 'p2p' : 'collective';
}

const OPTIMIZER = /^Optimizer\.(step|zero_grad)#/;
/** Step markers torch.profiler writes when the loop calls profiler.step(). */
const PROFILER_STEP = /^ProfilerStep#\d+$/;
/** Micro-batch annotations: torch.distributed.pipelining's "Forward i"/"Backward i" and its runtime's "PP:<stage><action><mb>". */
const FORWARD_MARK = /^Forward (\d+)$/;
const BACKWARD_MARK = /^Backward (\d+)$/;
const ACTION_MARK = /^PP:(\d+)(F|B|I|W|FULL_BACKWARD|BACKWARD_INPUT|BACKWARD_WEIGHT)(\d+)$/;

const seconds = (microseconds: number): number => microseconds / 1e6;
const interval = (event: TraceEvent): Interval => ({ start: seconds(event.ts), end: seconds(event.ts + event.dur) });

function completeEvents(json: unknown, source: string): TraceEvent[] {
  const events = (json as { traceEvents?: unknown }).traceEvents;
  if (!Array.isArray(events)) throw new UsageError(`${source} has no traceEvents array; give a Chrome trace from torch.profiler or conveyor --trace`);
  return events.filter((event): event is TraceEvent => {
    const e = event as Partial<TraceEvent> | null;
    return e !== null && typeof e === 'object' && e.ph === 'X' && typeof e.name === 'string' &&
      typeof e.ts === 'number' && Number.isFinite(e.ts) && typeof e.dur === 'number' && Number.isFinite(e.dur) && e.dur >= 0;
  });
}

/** The thread that runs the training loop: the host thread with the most time in top-level operators. */
function mainThread(events: readonly TraceEvent[]): string {
  const busy = new Map<string, number>();
  for (const event of events) {
    if (event.cat !== 'cpu_op' && event.cat !== 'user_annotation') continue;
    const key = `${event.pid}/${event.tid}`;
    busy.set(key, (busy.get(key) ?? 0) + event.dur);
  }
  let best: string | undefined;
  for (const [key, time] of busy) if (best === undefined || time > busy.get(best)!) best = key;
  if (best === undefined) throw new UsageError('the trace has no host operators (cpu_op or user_annotation events); record it with torch.profiler CPU activity');
  return best;
}

/** Events not inside another event of the same thread. */
function topLevel(events: readonly TraceEvent[]): TraceEvent[] {
  const sorted = [...events].sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  const top: TraceEvent[] = [];
  let end = -Infinity;
  for (const event of sorted) {
    if (event.ts >= end) {
      top.push(event);
      end = event.ts + event.dur;
    }
  }
  return top;
}

/** Step windows: profiler step markers, else each optimizer step closes one (the first opens at the first operator). */
function stepWindows(main: readonly TraceEvent[]): Interval[] {
  const marked = main.filter((event) => PROFILER_STEP.test(event.name)).map(interval).sort((a, b) => a.start - b.start);
  if (marked.length > 0) return marked;
  const steps = main.filter((event) => event.name.startsWith('Optimizer.step#')).map(interval).sort((a, b) => a.start - b.start);
  if (steps.length === 0) {
    throw new UsageError('the trace has no ProfilerStep# markers and no Optimizer.step: cannot tell where a training step ends');
  }
  const first = extent(main.map(interval)).start;
  return steps.map((step, i) => ({ start: i === 0 ? first : steps[i - 1]!.end, end: step.end }));
}

/** Host-side view: what the training thread runs. */
interface HostView {
  readonly optimizer: Interval[];
  readonly compute: Interval[];
  /** Where compute is backward: the pipelining's backward annotations, else autograd's engine functions. */
  readonly backwardAreas: Interval[];
}

function hostView(main: readonly TraceEvent[]): HostView & { readonly forwardMarks: TraceEvent[]; readonly annotated: boolean } {
  const optimizer = union(main.filter((e) => OPTIMIZER.test(e.name)).map(interval));
  // Operators, not annotations, are compute: an annotation may also wrap a wait for a transfer.
  const operators = topLevel(main.filter((e) => e.cat !== 'user_annotation' && commKind(e) === undefined && !PROFILER_STEP.test(e.name)));
  const compute = subtract(union(operators.map(interval)), optimizer);
  const forwardMarks = main.filter((e) => FORWARD_MARK.test(e.name) || /^PP:\d+F\d+$/.test(e.name));
  const backwardMarks = main.filter((e) => BACKWARD_MARK.test(e.name) || (ACTION_MARK.test(e.name) && !/^PP:\d+F\d+$/.test(e.name)));
  const annotated = forwardMarks.length + backwardMarks.length > 0;
  const backwardAreas = annotated
    ? union(backwardMarks.map(interval))
    : union(operators.filter((e) => e.name.startsWith('autograd::engine::evaluate_function')).map(interval));
  return { optimizer, compute, backwardAreas, forwardMarks, annotated };
}

/** CUDA kernels (Kineto's "kernel" events): compute and NCCL, each placed by the host operator that launched it. */
function deviceView(events: readonly TraceEvent[], host: HostView): { compute: Interval[]; backward: Interval[]; optimizer: Interval[]; p2p: Interval[]; collective: Interval[] } | undefined {
  const kernels = events.filter((e) => e.cat === 'kernel');
  if (kernels.length === 0) return undefined;
  const launches = new Map<unknown, number>();
  for (const e of events) if (e.cat === 'cuda_runtime' && e.args?.['correlation'] !== undefined) launches.set(e.args['correlation'], seconds(e.ts));
  const inside = (time: number | undefined, areas: readonly Interval[]): boolean => time !== undefined && areas.some((a) => a.start <= time && time < a.end);
  const nccl = (e: TraceEvent): boolean => /^nccl/i.test(e.name);
  const launchOf = (e: TraceEvent): number | undefined => launches.get(e.args?.['correlation']);
  const p2p = union(kernels.filter((e) => nccl(e) && /send|recv/i.test(e.name)).map(interval));
  const collective = subtract(union(kernels.filter((e) => nccl(e) && !/send|recv/i.test(e.name)).map(interval)), p2p);
  const compute = kernels.filter((e) => !nccl(e));
  const optimizer = union(compute.filter((e) => inside(launchOf(e), host.optimizer)).map(interval));
  const training = subtract(union(compute.filter((e) => !inside(launchOf(e), host.optimizer)).map(interval)), optimizer);
  const backward = clipAll(training, union(compute.filter((e) => inside(launchOf(e), host.backwardAreas)).map(interval)));
  return { compute: training, backward, optimizer, p2p, collective };
}

/**
 * One rank of a torch.profiler (Kineto) Chrome trace of a pipeline-parallel run: the rank from `distributedInfo`,
 * steps from ProfilerStep markers or optimizer steps. Every moment of the rank is one thing, in this order: the
 * optimizer's step or zero_grad; compute (the training thread's operators, or on a GPU its kernels), forward or
 * backward by the pipelining's annotations where present, else by whether autograd's engine runs it; a collective in
 * flight on any thread (gloo runs them on its own threads, NCCL on its stream); a send or receive in flight
 * (transfers are asynchronous, so only the time no compute fills is a wait for a peer); else other.
 */
export function readKinetoTrace(json: unknown, source: string, fallbackRank: number): RankTrace {
  const events = completeEvents(json, source);
  const info = (json as { distributedInfo?: { rank?: unknown } }).distributedInfo;
  const rank = typeof info?.rank === 'number' ? info.rank : fallbackRank;
  const thread = mainThread(events);
  const process = thread.split('/')[0];
  const main = events.filter((event) => `${event.pid}/${event.tid}` === thread);
  const sameProcess = events.filter((event) => `${event.pid}` === process);
  const host = hostView(main);
  const device = deviceView(events, host);
  const optimizer = device?.optimizer ?? host.optimizer;
  const compute = device?.compute ?? host.compute;
  const backward = device?.backward ?? clipAll(compute, host.backwardAreas);
  const forward = subtract(compute, backward);
  const busy = union([...compute, ...optimizer]);
  const waits = device === undefined
    ? hostWaits(busy, sameProcess)
    : { collective: subtract(device.collective, busy), p2p: subtract(subtract(device.p2p, busy), device.collective) };
  const { collective, p2p } = waits;

  const kinds: [SpanKind, Interval[]][] = [
    ['forward', forward], ['backward', backward], ['p2p', p2p], ['collective', collective], ['optimizer', optimizer],
  ];
  // One operator per send: c10d's where it is recorded (gloo and NCCL nest their own under it), else the backend's.
  const c10dSends = main.filter((e) => /^c10d::(send|isend)$/.test(e.name));
  const sends = (c10dSends.length > 0 ? c10dSends : main.filter((e) => /^(gloo|nccl):send$/.test(e.name))).map((e) => seconds(e.ts));
  const steps: StepSpans[] = stepWindows(main).map((window) => ({
    start: window.start,
    end: window.end,
    spans: kinds.flatMap(([kind, intervals]) => clip(intervals, window.start, window.end).map((i): Span => ({ kind, ...i })))
      .sort((a, b) => a.start - b.start),
    sends: sends.filter((time) => time >= window.start && time < window.end),
  }));
  const microbatches = host.annotated ? distinctMicrobatches(host.forwardMarks) : undefined;
  const stages = new Set(main.map((e) => ACTION_MARK.exec(e.name)?.[1]).filter((stage) => stage !== undefined));
  return {
    rank, source, format: 'kineto', steps,
    ...(microbatches === undefined ? {} : { microbatches }),
    ...(stages.size > 0 ? { chunks: stages.size } : {}),
  };
}

/**
 * The training thread's waits: transfers and gloo's collectives are asynchronous, so a gap between its operators is a
 * wait for a peer (or a collective) up to where the transfer (or collective) it resumes after completes; the rest of
 * the gap, and gaps no completion ends, are other time (Python, the loop).
 */
function hostWaits(busy: readonly Interval[], events: readonly TraceEvent[]): { collective: Interval[]; p2p: Interval[] } {
  const ends = (kind: 'p2p' | 'collective'): number[] =>
    events.filter((e) => commKind(e) === kind).map((e) => seconds(e.ts + e.dur)).sort((a, b) => a - b);
  const p2pEnds = ends('p2p');
  const collectiveEnds = ends('collective');
  const lastEnd = (list: readonly number[], start: number, end: number): number => {
    let found = -Infinity;
    for (const time of list) if (time > start && time <= end) found = time; // it completes before the thread resumes
    return found;
  };
  const collective: Interval[] = [];
  const p2p: Interval[] = [];
  for (let i = 0; i + 1 < busy.length; i++) {
    const gap = { start: busy[i]!.end, end: busy[i + 1]!.start };
    const c = lastEnd(collectiveEnds, gap.start, gap.end);
    const q = lastEnd(p2pEnds, gap.start, gap.end);
    const until = Math.min(gap.end, Math.max(c, q));
    if (until <= gap.start) continue;
    (c >= q ? collective : p2p).push({ start: gap.start, end: until });
  }
  return { collective, p2p };
}

/** The parts of `intervals` inside any of `areas` (both merged). */
function clipAll(intervals: readonly Interval[], areas: readonly Interval[]): Interval[] {
  return subtract(intervals, subtract(union(intervals), areas));
}

/** Micro-batches per step from forward annotations: the distinct indices they name. */
function distinctMicrobatches(marks: readonly TraceEvent[]): number {
  const indices = new Set(marks.map((e) => (FORWARD_MARK.exec(e.name) ?? /^PP:\d+F(\d+)$/.exec(e.name))![1]));
  return indices.size;
}

/** Seconds of a kind in a step. */
export const kindSeconds = (step: StepSpans, kind: SpanKind): number => totalLength(step.spans.filter((span) => span.kind === kind));
