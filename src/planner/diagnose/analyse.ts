import {
  catalogueEntry, generateSchedule, isScheduleName, scheduleTheory, simulate, type CostModel, type Schedule, type ScheduleName,
} from '../../schedule/index.js';
import { UsageError } from '../../errors.js';
import { extent, totalLength, type RankTrace, type Span, type SpanKind, type StepSpans } from './spans.js';

/** One rank's step, seconds: busy computing, and idle split by what it waited on. */
export interface RankStep {
  readonly step: number;
  readonly seconds: number;
  readonly busy: number;
  readonly forward: number;
  readonly backward: number;
  readonly idle: { readonly peers: number; readonly collectives: number; readonly optimizerOther: number };
}

export interface RankDiagnosis {
  readonly rank: number;
  readonly source: string;
  readonly steps: readonly RankStep[];
  /** Idle share of the pipeline phase (first compute to last compute of a step across the ranks), steady steps. */
  readonly bubbleFraction: number;
  /** What the schedule alone gives this rank with the measured compute times and free messages. */
  readonly simulatedBubbleFraction: number | undefined;
  /** Seconds of one micro-batch's forward and backward (per chunk) on this rank, steady steps. */
  readonly forwardPerMicrobatch: number;
  readonly backwardPerMicrobatch: number;
}

/** A change to try, with the step time the simulator gives for it from the measured costs. */
export interface Remedy {
  readonly change: string;
  readonly stepSeconds: number;
}

export interface Diagnosis {
  readonly ranks: readonly RankDiagnosis[];
  readonly inferred: {
    readonly ranks: number; readonly microbatches: number; readonly chunks: number; readonly schedule: string;
    /** How the micro-batches and the schedule were told. */
    readonly how: string;
  };
  /** Step indices averaged over (the first is left out when there are more: it carries one-off work). */
  readonly steadySteps: readonly number[];
  /** Whether the files share a clock, so that one pipeline phase spans all ranks. */
  readonly alignedClocks: boolean;
  readonly stepSeconds: number;
  readonly pipelineSeconds: number;
  readonly theory: { readonly formula: string; readonly bubbleFraction: number | undefined; readonly source: string } | undefined;
  readonly simulated: { readonly pipelineSeconds: number; readonly bubbleFraction: readonly number[] } | undefined;
  readonly slowest: { readonly rank: number; readonly busy: number; readonly imbalance: number };
  /** Seconds per step the pipeline phase spends beyond what the schedule needs with free messages. */
  readonly exposedCommunication: number;
  readonly stragglers: readonly string[];
  readonly findings: readonly string[];
  readonly remedies: readonly Remedy[];
}

const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);
const mean = (values: readonly number[]): number => (values.length === 0 ? 0 : sum(values) / values.length);
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const seconds = (step: StepSpans, kind: SpanKind): number => totalLength(step.spans.filter((span) => span.kind === kind));
const isCompute = (span: Span): boolean => span.kind === 'forward' || span.kind === 'backward';
const percent = (share: number): string => `${(100 * share).toFixed(1)}%`;

function rankStep(step: StepSpans, index: number): RankStep {
  const forward = seconds(step, 'forward');
  const backward = seconds(step, 'backward');
  const length = step.end - step.start;
  const peers = seconds(step, 'p2p');
  const collectives = seconds(step, 'collective');
  return {
    step: index, seconds: length, busy: forward + backward, forward, backward,
    idle: { peers, collectives, optimizerOther: Math.max(0, length - forward - backward - peers - collectives) },
  };
}

/**
 * p, m, v and the schedule: from what the traces name, else m from the first rank's sends (one activation per
 * micro-batch and chunk, and one gradient per micro-batch for each chunk after the first) and the schedule from
 * whether it sends an activation after its first backward (1F1B) or not (GPipe).
 */
function inferShape(traces: readonly RankTrace[], steady: readonly number[]): Diagnosis['inferred'] {
  const first = traces[0]!;
  const chunks = first.chunks ?? 1;
  const named = first.microbatches !== undefined;
  const sends = steady.map((s) => first.steps[s]!.sends).filter((times): times is readonly number[] => times !== undefined);
  const microbatches = first.microbatches ?? (sends.length > 0 ? Math.round(median(sends.map((times) => times.length)) / (2 * chunks - 1)) : 0);
  if (microbatches < 1) {
    throw new UsageError(`${first.source}: cannot tell the micro-batches of a step (no annotations and no sends on rank ${first.rank})`);
  }
  let schedule = first.schedule;
  let how = named ? 'micro-batches named by the trace' : `micro-batches counted from rank ${first.rank}'s sends`;
  if (schedule === undefined || !isScheduleName(schedule)) {
    const step = first.steps[steady[0]!]!;
    const firstBackward = step.spans.find((span) => span.kind === 'backward')?.start ?? Infinity;
    const sendsAfter = (step.sends ?? []).filter((time) => time > firstBackward).length;
    schedule = chunks > 1 ? 'interleaved-1f1b' : sendsAfter > 0 ? '1f1b' : 'gpipe';
    how += chunks > 1 ? '; several chunks per rank: taken as interleaved-1f1b'
      : step.sends === undefined ? '; no sends to order: taken as gpipe'
      : sendsAfter > 0 ? `; rank ${first.rank} sends activations after its first backward: 1f1b` : `; rank ${first.rank} sends every activation before its first backward: gpipe`;
  }
  return { ranks: traces.length, microbatches, chunks, schedule, how };
}

/** The schedule simulated with per-rank forward and backward seconds per micro-batch and chunk, messages free. */
function simulateShape(
  schedule: ScheduleName, ranks: number, microbatches: number, chunks: number,
  forward: readonly number[], backward: readonly number[],
): { makespan: number; bubbleFraction: readonly number[] } | undefined {
  let generated: Schedule;
  try {
    generated = generateSchedule(schedule, { ranks, microbatches, chunks });
  } catch (error) {
    if (error instanceof UsageError) return undefined;
    throw error;
  }
  const per = (values: readonly number[], share = 1): number[] => generated.placement.map((rank) => values[rank]! * share);
  const costs: CostModel = {
    duration: { F: per(forward), B: per(backward), I: per(backward, 0.5), W: per(backward, 0.5) },
    commSeconds: new Array<number>(Math.max(generated.stages - 1, 0)).fill(0),
    activationBytes: new Array<number>(generated.stages).fill(0),
  };
  const timeline = simulate(generated, costs);
  return { makespan: timeline.makespan, bubbleFraction: timeline.bubbleFraction };
}

/**
 * Busy and idle time per rank and step, the bubble against the schedule's theory and its simulation with the measured
 * stage times, the slowest stage, exposed communication, stragglers, and changes to try, each re-estimated by
 * simulating it with the measured costs (what the measured phase spends beyond the simulated one is kept).
 */
export function diagnose(input: readonly RankTrace[]): Diagnosis {
  if (input.length === 0) throw new UsageError('give at least one trace file');
  const traces = [...input].sort((a, b) => a.rank - b.rank);
  for (let i = 1; i < traces.length; i++) {
    if (traces[i]!.rank === traces[i - 1]!.rank) {
      throw new UsageError(`${traces[i - 1]!.source} and ${traces[i]!.source} are both rank ${traces[i]!.rank}; give one trace per rank`);
    }
  }
  const stepCount = Math.min(...traces.map((trace) => trace.steps.length));
  if (stepCount === 0) throw new UsageError(`${traces.find((t) => t.steps.length === 0)!.source} has no complete training step`);
  const steady = stepCount > 1 ? Array.from({ length: stepCount - 1 }, (_, i) => i + 1) : [0];
  const inferred = inferShape(traces, steady);
  const p = traces.length;

  // One pipeline phase per step across ranks when the files share a clock: every rank's window must overlap it.
  const phases = steady.map((s) => extent(traces.flatMap((trace) => trace.steps[s]!.spans.filter(isCompute))));
  const alignedClocks = steady.every((s, i) => traces.every((trace) => trace.steps[s]!.start < phases[i]!.end && trace.steps[s]!.end > phases[i]!.start));
  const phaseOf = (trace: RankTrace, s: number, i: number): { start: number; end: number } => {
    if (alignedClocks) return phases[i]!;
    return extent(trace.steps[s]!.spans.filter(isCompute));
  };

  const perChunk = inferred.microbatches * inferred.chunks;
  const measured = traces.map((trace) => {
    const steps = trace.steps.slice(0, stepCount).map(rankStep);
    const bubble = mean(steady.map((s, i) => {
      const phase = phaseOf(trace, s, i);
      const busy = sum(trace.steps[s]!.spans.filter(isCompute).map((span) => Math.min(span.end, phase.end) - Math.max(span.start, phase.start)));
      return 1 - busy / (phase.end - phase.start);
    }));
    return {
      trace, steps, bubble,
      forward: mean(steady.map((s) => steps[s]!.forward)) / perChunk,
      backward: mean(steady.map((s) => steps[s]!.backward)) / perChunk,
    };
  });
  const forward = measured.map((rank) => rank.forward);
  const backward = measured.map((rank) => rank.backward);
  const schedule = inferred.schedule as ScheduleName;
  const simulatedBase = simulateShape(schedule, p, inferred.microbatches, inferred.chunks, forward, backward);
  const pipelineSeconds = mean(phases.map((phase, i) => (alignedClocks ? phase.end - phase.start : mean(traces.map((t) => {
    const own = phaseOf(t, steady[i]!, i);
    return own.end - own.start;
  })))));
  const stepSeconds = mean(steady.map((s) => Math.max(...measured.map((rank) => rank.steps[s]!.seconds))));
  const outsidePipeline = Math.max(0, stepSeconds - pipelineSeconds);
  const theorySizes = { ranks: p, microbatches: inferred.microbatches, chunks: inferred.chunks };
  const meanForward = mean(forward);
  const meanBackward = mean(backward);
  const theory = scheduleTheory(schedule, theorySizes, { F: meanForward, B: meanBackward, I: meanBackward / 2, W: meanBackward / 2 });

  const busy = measured.map((rank) => mean(steady.map((s) => rank.steps[s]!.busy)));
  const slowestIndex = busy.indexOf(Math.max(...busy));
  const slowest = { rank: traces[slowestIndex]!.rank, busy: busy[slowestIndex]!, imbalance: Math.max(...busy) / mean(busy) - 1 };
  const exposedCommunication = simulatedBase === undefined ? 0 : Math.max(0, pipelineSeconds - simulatedBase.makespan);

  const stragglers: string[] = [];
  const windows = steady.map((s) => Math.max(...measured.map((rank) => rank.steps[s]!.seconds)));
  const typicalStep = median(windows);
  steady.forEach((s, i) => {
    if (windows[i]! > 1.25 * typicalStep) stragglers.push(`step ${s} took ${windows[i]!.toFixed(4)} s against a median of ${typicalStep.toFixed(4)} s`);
  });
  measured.forEach((rank) => {
    const typical = median(steady.map((s) => rank.steps[s]!.busy));
    for (const s of steady) {
      const value = rank.steps[s]!.busy;
      if (value > 1.25 * typical) stragglers.push(`rank ${rank.trace.rank} computed ${percent(value / typical - 1)} longer in step ${s} than its median`);
    }
  });

  const ranks: RankDiagnosis[] = measured.map((rank, i) => ({
    rank: rank.trace.rank, source: rank.trace.source, steps: rank.steps, bubbleFraction: rank.bubble,
    simulatedBubbleFraction: simulatedBase?.bubbleFraction[i], forwardPerMicrobatch: rank.forward, backwardPerMicrobatch: rank.backward,
  }));
  const remedies = remediesFor(inferred, forward, backward, simulatedBase, pipelineSeconds, outsidePipeline, stepSeconds);
  const findings = findingsFor({
    ranks, inferred, theory, simulatedBase, pipelineSeconds, stepSeconds, slowest, exposedCommunication, measured, steady,
  });
  return {
    ranks, inferred, steadySteps: steady, alignedClocks, stepSeconds, pipelineSeconds,
    theory: theory === undefined ? undefined : { formula: theory.bubbleFormula, bubbleFraction: theory.bubble, source: theory.source },
    simulated: simulatedBase === undefined ? undefined : { pipelineSeconds: simulatedBase.makespan, bubbleFraction: simulatedBase.bubbleFraction },
    slowest, exposedCommunication, stragglers, findings, remedies,
  };
}

/** Changes to the pipeline, each simulated with the measured costs; overheads beyond the simulation are kept as measured. */
function remediesFor(
  inferred: Diagnosis['inferred'], forward: readonly number[], backward: readonly number[],
  base: { makespan: number } | undefined, pipelineSeconds: number, outsidePipeline: number, stepSeconds: number,
): Remedy[] {
  if (base === undefined) return [];
  const { ranks: p, microbatches: m, chunks: v } = inferred;
  const overhead = pipelineSeconds - base.makespan;
  const remedies: Remedy[] = [];
  const tryShape = (change: string, schedule: ScheduleName, microbatches: number, chunks: number, f: readonly number[], b: readonly number[]): void => {
    const result = simulateShape(schedule, p, microbatches, chunks, f, b);
    if (result !== undefined) remedies.push({ change, stepSeconds: result.makespan + overhead + outsidePipeline });
  };
  const scale = (values: readonly number[], factor: number): number[] => values.map((value) => value * factor);
  const schedule = inferred.schedule as ScheduleName;
  if (p > 1) {
    tryShape('balance the stages (move layers from the slowest rank)', schedule, m, v, forward.map(() => mean(forward)), backward.map(() => mean(backward)));
    tryShape(`twice the micro-batches (${2 * m}, each half the size)`, schedule, 2 * m, v, scale(forward, 0.5), scale(backward, 0.5));
    if (v === 1 && catalogueEntry('interleaved-1f1b').chunks.min === 2) {
      tryShape('interleaved-1f1b with 2 chunks per rank', 'interleaved-1f1b', m, 2, scale(forward, 0.5), scale(backward, 0.5));
    }
    if (schedule !== 'zb-h1') tryShape('zb-h1 (the backward split into input and weight gradients)', 'zb-h1', m * v, 1, scale(forward, v), scale(backward, v));
  }
  if (overhead > 0.05 * pipelineSeconds) {
    remedies.push({ change: 'hide the point-to-point waits (faster links, or transfers overlapped with compute)', stepSeconds: base.makespan + outsidePipeline });
  }
  return remedies.filter((remedy) => remedy.stepSeconds < stepSeconds).sort((a, b) => a.stepSeconds - b.stepSeconds);
}

function findingsFor(context: {
  ranks: readonly RankDiagnosis[]; inferred: Diagnosis['inferred']; theory: ReturnType<typeof scheduleTheory>;
  simulatedBase: { makespan: number; bubbleFraction: readonly number[] } | undefined; pipelineSeconds: number; stepSeconds: number;
  slowest: Diagnosis['slowest']; exposedCommunication: number;
  measured: readonly { steps: readonly RankStep[] }[]; steady: readonly number[];
}): string[] {
  const { ranks, inferred, theory, simulatedBase, pipelineSeconds, stepSeconds, slowest } = context;
  const findings: string[] = [];
  const worst = ranks.reduce((a, b) => (b.bubbleFraction > a.bubbleFraction ? b : a));
  findings.push(
    `the bubble: rank ${worst.rank} idles ${percent(worst.bubbleFraction)} of the pipeline phase; ` +
      (worst.simulatedBubbleFraction === undefined ? '' : `${inferred.schedule} with these stage times and free messages gives ${percent(worst.simulatedBubbleFraction)}`) +
      (theory?.bubble === undefined ? '' : `, its formula ${theory.bubbleFormula} ${percent(theory.bubble)} (p=${inferred.ranks}, m=${inferred.microbatches}, v=${inferred.chunks})`),
  );
  if (ranks.length > 1 && slowest.imbalance > 0.05) {
    findings.push(`the slowest stage: rank ${slowest.rank} computes ${percent(slowest.imbalance)} more than the ranks' mean (${slowest.busy.toFixed(4)} s a step); the others wait for it`);
  }
  if (simulatedBase !== undefined && context.exposedCommunication > 0.05 * pipelineSeconds) {
    findings.push(
      `exposed communication: the pipeline phase takes ${pipelineSeconds.toFixed(4)} s where the schedule needs ${simulatedBase.makespan.toFixed(4)} s ` +
        `with these compute times; ${context.exposedCommunication.toFixed(4)} s a step go to transfers and waits the schedule does not hide`,
    );
  }
  const share = (pick: (step: RankStep) => number): number =>
    mean(context.measured.map((rank) => mean(context.steady.map((s) => pick(rank.steps[s]!))))) / stepSeconds;
  const collectives = share((step) => step.idle.collectives);
  if (collectives > 0.05) findings.push(`collectives (gradient reduction, barriers) take ${percent(collectives)} of the step`);
  const outside = (stepSeconds - pipelineSeconds) / stepSeconds;
  if (outside > 0.1) findings.push(`${percent(outside)} of the step is outside the pipeline phase (optimizer step, collectives, the loop between steps)`);
  return findings;
}
