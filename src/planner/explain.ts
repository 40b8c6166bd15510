import { UsageError } from '../errors.js';
import { estimate, type Estimate } from './estimate.js';
import type { Job, ParallelPlan } from './plan.js';
import { scheduleEntry } from './schedule-rules.js';

/** One change to try, with what the model predicts it does. */
export interface Suggestion {
  /** The change in words, e.g. "recompute: full". */
  readonly change: string;
  readonly estimate: Estimate;
}

/** One reason the configuration is slow or does not fit, in words, with the changes that address it. */
export interface Finding {
  readonly kind: 'memory' | 'bubble' | 'tensor-parallel-nodes' | 'tensor-parallel-share' | 'data-parallel' | 'recompute';
  readonly message: string;
  readonly suggestions: readonly Suggestion[];
}

export interface Explanation {
  readonly estimate: Estimate;
  readonly findings: readonly Finding[];
}

const GiB = 2 ** 30;
const gib = (bytes: number): string => `${(bytes / GiB).toFixed(1)} GiB`;
const percent = (share: number): string => `${(100 * share).toFixed(0)}%`;

/** Re-estimates the job with `change` applied; undefined when that configuration cannot run at all. */
function variant(job: Job, change: string, parallel: Partial<ParallelPlan>): Suggestion | undefined {
  try {
    return { change, estimate: estimate({ ...job, parallel: { ...job.parallel, ...parallel } }) };
  } catch (error) {
    if (error instanceof UsageError) return undefined;
    throw error;
  }
}

const defined = <T>(items: readonly (T | undefined)[]): T[] => items.filter((item): item is T => item !== undefined);

/** Suggestions that fit first, then the fastest. */
const ranked = (suggestions: readonly (Suggestion | undefined)[]): Suggestion[] =>
  defined(suggestions).sort(
    (a, b) => Number(b.estimate.memory.fits) - Number(a.estimate.memory.fits) || a.estimate.stepTimeS - b.estimate.stepTimeS,
  );

/** The predicted effect of a suggestion against the current estimate, in words. */
export function describeEffect(current: Estimate, next: Estimate): string {
  const memory = `${gib(next.memory.total)} of ${gib(next.memory.capacity)}${next.memory.fits ? ' (fits)' : ' (does not fit)'}`;
  const change = next.stepTimeS / current.stepTimeS - 1;
  const time = `step ${next.stepTimeS.toFixed(2)} s (${change >= 0 ? '+' : ''}${(100 * change).toFixed(1)}%)`;
  return `${memory}, ${time}, MFU ${percent(next.mfu)}`;
}

/** The pipeline rank the memory figures are for, in words. */
function rankName(job: Job, memory: Estimate['memory']): string {
  if (job.parallel.pp === 1) return 'each GPU';
  return memory.worstRank === 'middle' ? `pipeline rank ${memory.worstRankIndex}` : `the ${memory.worstRank} pipeline rank`;
}

function memoryFinding(job: Job, current: Estimate): Finding | undefined {
  const memory = current.memory;
  if (memory.fits) return undefined;
  const p = job.parallel;
  const parts = { weights: memory.weights, gradients: memory.gradients, optimizer: memory.optimizer, activations: memory.activations };
  const [largest, largestBytes] = Object.entries(parts).sort((a, b) => b[1] - a[1])[0]!;
  const message =
    `${rankName(job, memory)} needs ${gib(memory.total)} per GPU but one ${job.gpu.id} holds ${gib(memory.capacity)}: ` +
    `over by ${gib(memory.total - memory.capacity)}; the largest part is ${largest} (${gib(largestBytes)})`;
  const suggestions = ranked([
    p.recompute !== 'full' ? variant(job, 'recompute: full', { recompute: 'full' }) : undefined,
    p.recompute === 'none' && !p.flashAttention ? variant(job, 'recompute: selective', { recompute: 'selective' }) : undefined,
    p.tp > 1 && !p.sequenceParallel ? variant(job, 'sequence parallelism on', { sequenceParallel: true }) : undefined,
    p.zero < 3 && p.dp > 1 ? variant(job, `ZeRO stage ${p.zero + 1}`, { zero: (p.zero + 1) as ParallelPlan['zero'] }) : undefined,
    p.microBatchSize > 1 ? variant(job, `micro-batch ${p.microBatchSize / 2}`, { microBatchSize: p.microBatchSize / 2 }) : undefined,
    p.dp % 2 === 0 ? variant(job, `pp ${p.pp * 2} (dp ${p.dp / 2})`, { pp: p.pp * 2, dp: p.dp / 2 }) : undefined,
    p.dp % 2 === 0 ? variant(job, `tp ${p.tp * 2} (dp ${p.dp / 2})`, { tp: p.tp * 2, dp: p.dp / 2 }) : undefined,
  ]);
  return { kind: 'memory', message, suggestions };
}

function bubbleFinding(job: Job, current: Estimate): Finding | undefined {
  const p = job.parallel;
  if (p.pp === 1 || current.bubbleFraction < 0.08) return undefined;
  const message =
    `the pipeline bubble takes ${percent(current.bubbleFraction)} of the step: with ${p.schedule} on ${p.pp} ranks, ` +
    `${current.microbatches} micro-batches are too few to hide the ${p.pp - 1} fill and drain slots`;
  const suggestions = ranked([
    p.microBatchSize > 1 ? variant(job, `micro-batch ${p.microBatchSize / 2} (more micro-batches)`, { microBatchSize: p.microBatchSize / 2 }) : undefined,
    ...['interleaved-1f1b', 'zb-h1', 'zb-v', 'dualpipe-v'].filter((schedule) => schedule !== p.schedule).map((schedule) => {
      const chunks = scheduleEntry(schedule).chunks.default;
      return variant(job, `schedule ${schedule}${chunks > 1 ? `, ${chunks} chunks per rank` : ''}`, { schedule, virtualStages: chunks });
    }),
    p.pp % 2 === 0 ? variant(job, `pp ${p.pp / 2} (dp ${p.dp * 2})`, { pp: p.pp / 2, dp: p.dp * 2 }) : undefined,
  ]);
  return { kind: 'bubble', message, suggestions };
}

function tensorParallelFindings(job: Job, current: Estimate): Finding[] {
  const p = job.parallel;
  const findings: Finding[] = [];
  const perNode = job.gpu.gpusPerNode;
  if (current.tensorParallelCrossesNodes) {
    const factor = p.tp / perNode;
    findings.push({
      kind: 'tensor-parallel-nodes',
      message: `tensor parallelism of ${p.tp} spans ${factor} nodes of ${perNode} GPUs: every layer's all-reduces cross the inter-node network`,
      suggestions: ranked([variant(job, `tp ${perNode}, pp ${p.pp * factor}`, { tp: perNode, pp: p.pp * factor })]),
    });
  }
  const share = current.time.tensorParallel / current.stepTimeS;
  if (p.tp > 1 && share > 0.15) {
    findings.push({
      kind: 'tensor-parallel-share',
      message: `tensor-parallel communication takes ${percent(share)} of the step: at t=${p.tp} every layer still all-reduces its full activations while each GPU's share of the arithmetic shrinks ${p.tp}-fold`,
      suggestions: ranked([
        variant(job, `tp ${p.tp / 2}, pp ${p.pp * 2}`, { tp: p.tp / 2, pp: p.pp * 2 }),
        variant(job, `tp ${p.tp / 2}, dp ${p.dp * 2}`, { tp: p.tp / 2, dp: p.dp * 2 }),
      ]),
    });
  }
  return findings;
}

function dataParallelFinding(job: Job, current: Estimate): Finding | undefined {
  const p = job.parallel;
  const share = current.time.dataParallel / current.stepTimeS;
  if (share < 0.05) return undefined;
  return {
    kind: 'data-parallel',
    message: `data-parallel communication left exposed takes ${percent(share)} of the step (gradients of ${p.dp} replicas${p.zero === 3 ? ', and ZeRO-3 weight gathers' : ''})`,
    suggestions: ranked([
      p.overlapGradReduce ? undefined : variant(job, 'overlap the gradient reduction with the backward', { overlapGradReduce: true }),
      p.zero === 3 ? variant(job, 'ZeRO stage 1', { zero: 1 }) : undefined,
      p.dp % 2 === 0 ? variant(job, `pp ${p.pp * 2} (dp ${p.dp / 2})`, { pp: p.pp * 2, dp: p.dp / 2 }) : undefined,
    ]),
  };
}

function recomputeFinding(job: Job, current: Estimate): Finding | undefined {
  const p = job.parallel;
  if (p.recompute === 'none' || !current.memory.fits) return undefined;
  // Sequence parallelism is what makes selective recomputation fit (Korthikanti et al. 2022): offer the pair.
  const withoutSequenceParallel = p.tp > 1 && !p.sequenceParallel;
  const lighter = defined([
    variant(job, 'recompute: none', { recompute: 'none' }),
    p.recompute === 'full' && !p.flashAttention ? variant(job, 'recompute: selective', { recompute: 'selective' }) : undefined,
    withoutSequenceParallel ? variant(job, 'recompute: none, sequence parallelism on', { recompute: 'none', sequenceParallel: true }) : undefined,
    withoutSequenceParallel && p.recompute === 'full' && !p.flashAttention
      ? variant(job, 'recompute: selective, sequence parallelism on', { recompute: 'selective', sequenceParallel: true })
      : undefined,
  ]).filter((suggestion) => suggestion.estimate.memory.fits && suggestion.estimate.stepTimeS < current.stepTimeS);
  if (lighter.length === 0) return undefined;
  return {
    kind: 'recompute',
    message: `${p.recompute} recomputation costs ${percent(current.recomputeFlops / current.modelFlops)} extra FLOPs, and memory allows less`,
    suggestions: lighter,
  };
}

/** Why a configuration is slow or does not fit, and what to change, each change re-estimated. */
export function explain(job: Job): Explanation {
  const current = estimate(job);
  const findings = defined([
    memoryFinding(job, current),
    bubbleFinding(job, current),
    ...tensorParallelFindings(job, current),
    dataParallelFinding(job, current),
    recomputeFinding(job, current),
  ]);
  return { estimate: current, findings };
}
