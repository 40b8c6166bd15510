import { UsageError } from '../errors.js';
import { catalogueNames } from '../schedule/index.js';
import { defaultFp32Gradients } from './config.js';
import { estimate, estimatePlanMemory, type Estimate, type MemoryBreakdown } from './estimate.js';
import type { Gpu, Precision } from './hardware.js';
import { moeOf, type ModelShape } from './model.js';
import type { ContextParallelCommunication, Job, Offload, OptimizerKind, ParallelPlan, Recompute, ZeroStage } from './plan.js';
import { chunkChoices, scheduleEntry, scheduleProblem, SEQUENTIAL_REFERENCE } from './schedule-rules.js';
import { SearchFunnel } from './search-funnel.js';
import { speedSplit } from './estimate.js';
import type { Cluster } from './cluster.js';

export interface SearchRequest {
  readonly model: ModelShape;
  readonly gpu: Gpu;
  readonly gpus: number;
  readonly globalBatchSize: number;
  readonly precision?: Precision;
  readonly fp32Gradients?: boolean;
  readonly flashAttention?: boolean;
  readonly overlapGradReduce?: boolean;
  /** Tensor-parallel collectives overlapped with the GEMMs (Megatron's --tp-comm-overlap). */
  readonly tpCommOverlap?: boolean;
  /** Restrict a dimension to the listed values; absent means every value that fits the model and cluster. */
  readonly tp?: readonly number[];
  readonly pp?: readonly number[];
  readonly cp?: readonly number[];
  /** On a cluster of groups: only these data-parallel degrees (each group then holds gpus / (t·c·d) stages). */
  readonly dp?: readonly number[];
  readonly ep?: readonly number[];
  /** Expert tensor-parallel degrees; absent means t and, where t > 1, 1 (experts whole on each GPU). */
  readonly etp?: readonly number[];
  readonly schedules?: readonly string[];
  readonly recompute?: readonly Recompute[];
  readonly zero?: readonly ZeroStage[];
  /** Sequence parallelism whenever tp > 1 (default), or never. */
  readonly sequenceParallel?: boolean;
  /** Largest micro-batch size tried. */
  readonly maxMicroBatchSize?: number;
  /** How many plans to return, fastest first. */
  readonly top?: number;
  /** Only these optimizer states; absent means fp32 Adam on the GPUs, and the lean ones when nothing fits so. */
  readonly states?: readonly StateChoice[];
  /** Several groups of GPUs joined by a link: pipeline stages span the groups, layers split by each group's speed. */
  readonly cluster?: Cluster;
}

export interface SearchResult {
  /** The fastest plans that fit, fastest first. */
  readonly plans: readonly Estimate[];
  /** The configuration needing the least memory per GPU, whether or not it fits. */
  readonly leanest: Estimate | undefined;
  /** Configurations evaluated and how many of them fit in memory. */
  readonly considered: number;
  readonly feasible: number;
  /** When nothing could be evaluated: the rules that removed the last candidates, in words. */
  readonly emptyBecause: readonly string[];
  /** Whether nothing fitted with all state on the GPUs, so that these plans use 8-bit Adam or offloading. */
  readonly offloaded: boolean;
}

/**
 * The divisors of n, ascending, built from its prime factors. Trial division stops once the factor squared
 * passes what is left, so 2⁵³ − 1 (6361 · 69431 · 20394401) takes 7·10⁴ steps, where walking to √n took
 * 10⁸ on every call; the search asks again for the same counts, so answers are kept. Anything but a
 * positive integer has none.
 */
export function divisors(n: number): readonly number[] {
  if (!Number.isInteger(n) || n < 1) return [];
  const known = divisorCache.get(n);
  if (known !== undefined) return known;
  let found = [1];
  let rest = n;
  const multiply = (prime: number, power: number) => {
    const next: number[] = [];
    for (const divisor of found) for (let p = 0, factor = 1; p <= power; p++, factor *= prime) next.push(divisor * factor);
    found = next;
  };
  for (let prime = 2; prime * prime <= rest; prime++) {
    let power = 0;
    while (rest % prime === 0) {
      rest /= prime;
      power++;
    }
    if (power > 0) multiply(prime, power);
  }
  if (rest > 1) multiply(rest, 1);
  found.sort((a, b) => a - b);
  divisorCache.set(n, found);
  return found;
}
const divisorCache = new Map<number, readonly number[]>();

/** Every schedule of the catalogue except the sequential reference, with its chunk counts for this model. */
function scheduleChoices(
  request: SearchRequest, pp: number, microbatches: number, funnel: SearchFunnel,
): { schedule: string; chunks: number }[] {
  if (pp === 1) return [{ schedule: '1f1b', chunks: 1 }];
  const layers = request.model.layers;
  const names = request.schedules ?? catalogueNames.filter((name) => name !== SEQUENTIAL_REFERENCE);
  const choices: { schedule: string; chunks: number }[] = [];
  for (const schedule of names) {
    const entry = scheduleEntry(schedule);
    const counts = chunkChoices(entry, pp, layers);
    if (counts.length === 0) funnel.reject('schedule', `${schedule} needs the ${layers} layers to split into pp × v equal chunks`, `pp ${pp}`);
    for (const chunks of counts) {
      const problem = scheduleProblem(entry, { pp, microbatches, chunks, layers, explicitSplit: false });
      if (problem === undefined) choices.push({ schedule, chunks });
      else funnel.reject('schedule', problem.rule, problem.value);
    }
  }
  return choices;
}

/** With flash attention, selective recomputation has nothing left to recompute: it equals none. */
const recomputeChoices = (request: SearchRequest): readonly Recompute[] =>
  (request.flashAttention ?? true) ? ['none', 'full'] : ['none', 'selective', 'full'];

function checkRequest(request: SearchRequest): void {
  for (const key of ['gpus', 'globalBatchSize'] as const) {
    if (!Number.isInteger(request[key]) || request[key] < 1) {
      throw new UsageError(`${key === 'gpus' ? '--gpus' : '--global-batch'} must be a positive integer, got ${request[key]}`);
    }
  }
}

/** Tensor-parallel degrees that divide the cluster and every width t splits. */
function tensorDegrees(request: SearchRequest, funnel: SearchFunnel): number[] {
  const { model, gpus } = request;
  const moe = moeOf(model);
  const widths = `the ${gpus} GPUs, the ${model.heads} heads, the ${model.kvHeads} key/value heads and the FFN width ${model.ffnHidden}` +
    (moe === undefined ? '' : ` and the expert FFN width ${moe.moeFfnHidden}`);
  const divides = (t: number): boolean => gpus % t === 0 && model.heads % t === 0 && model.kvHeads % t === 0 &&
    model.ffnHidden % t === 0 && (moe === undefined || moe.moeFfnHidden % t === 0);
  return (request.tp ?? divisors(gpus)).filter((t) => funnel.keep('tp', divides(t), `tp must divide ${widths}`, `tp ${t}`));
}

/** Pipeline degrees that divide what t leaves and give every rank at least one layer. */
function pipelineDegrees(request: SearchRequest, tp: number, funnel: SearchFunnel): number[] {
  const { model } = request;
  const rest = request.gpus / tp;
  return (request.pp ?? divisors(rest)).filter((p) => {
    const divides = funnel.keep('pp', rest % p === 0, 'pp must divide the GPUs that tp leaves', `pp ${p} of ${rest} GPUs at tp ${tp}`);
    const layered = funnel.keep(
      'pp', p <= model.layers && model.layers - (p - 1) * Math.ceil(model.layers / p) >= 1,
      `pp must leave at least one of the ${model.layers} layers on every pipeline rank`, `pp ${p}`,
    );
    return divides && layered;
  });
}

/**
 * Below this many tokens of a sequence per GPU the search does not try context parallelism by itself (--cp still
 * can): the slices' GEMMs thin out and the K/V exchange outgrows the attention it hides behind.
 */
const MIN_CONTEXT_SLICE = 1024;

/** Context-parallel degrees: dividing what t and p leave, the sequence into 2·c chunks, with flash attention. */
function contextDegrees(request: SearchRequest, tp: number, pp: number, funnel: SearchFunnel): number[] {
  const rest = request.gpus / (tp * pp);
  const seq = request.model.seqLength;
  const flash = request.flashAttention ?? true;
  const worthTrying = divisors(rest).filter((c) => c === 1 || seq / c >= MIN_CONTEXT_SLICE);
  return (request.cp ?? worthTrying).filter((c) => {
    if (c === 1) return true;
    const divides = funnel.keep('cp', rest % c === 0, 'cp must divide the GPUs that tp and pp leave', `cp ${c} of ${rest} GPUs at tp ${tp}, pp ${pp}`);
    const splits = funnel.keep('cp', seq % (2 * c) === 0, `the sequence length ${seq} must be a multiple of 2 × cp`, `cp ${c}`);
    const blockwise = funnel.keep('cp', flash, 'context parallelism needs flash attention (the search was given --no-flash-attention)', `cp ${c}`);
    return divides && splits && blockwise;
  });
}

/** (ep, etp) pairs: etp dividing the expert width, ep the experts, etp·ep the t·c·d GPUs of a stage; (1, t) for a dense model. */
function expertGrids(request: SearchRequest, tp: number, stage: number, funnel: SearchFunnel): { ep: number; etp: number }[] {
  const moe = moeOf(request.model);
  if (moe === undefined) {
    for (const e of request.ep ?? []) funnel.keep('ep', e === 1, `ep above 1 needs a mixture-of-experts model; ${request.model.name} is dense`, `ep ${e}`);
    return (request.ep ?? [1]).includes(1) ? [{ ep: 1, etp: tp }] : [];
  }
  const grids: { ep: number; etp: number }[] = [];
  for (const etp of request.etp ?? (tp > 1 ? [tp, 1] : [1])) {
    if (!funnel.keep('ep', moe.moeFfnHidden % etp === 0, `etp must divide the expert FFN width ${moe.moeFfnHidden}`, `etp ${etp}`)) continue;
    for (const ep of request.ep ?? divisors(stage)) {
      const experts = funnel.keep('ep', moe.experts % ep === 0, `ep must divide the ${moe.experts} experts`, `ep ${ep}`);
      const ranks = funnel.keep('ep', stage % (ep * etp) === 0, 'ep × etp must divide the GPUs of a pipeline stage (tp × cp × dp)', `${ep} × ${etp} of ${stage}`);
      if (experts && ranks) grids.push({ ep, etp });
    }
  }
  return grids;
}

/** Ring and, where c divides the heads each tensor-parallel rank holds, all-to-all. */
function contextCommunications(request: SearchRequest, tp: number, cp: number): (ContextParallelCommunication | undefined)[] {
  if (cp === 1) return [undefined];
  const { heads, kvHeads } = request.model;
  return (heads / tp) % cp === 0 && (kvHeads / tp) % cp === 0 ? ['ring', 'all-to-all'] : ['ring'];
}

/** Where the optimizer's state lives and how wide it is: one of the search's last dimensions. */
export interface StateChoice {
  readonly optimizer: OptimizerKind;
  readonly offload: Offload;
}

/** All state on the GPUs, fp32 Adam: what the search tries first. */
const onGpu: readonly StateChoice[] = [{ optimizer: 'adam', offload: 'none' }];
/** The levers used when nothing fits on the GPUs: 8-bit Adam, ZeRO-Offload, ZeRO-3 with the weights offloaded too. */
const leanStates: readonly StateChoice[] = [
  { optimizer: 'adam-8bit', offload: 'none' },
  { optimizer: 'adam', offload: 'optimizer' },
  { optimizer: 'adam', offload: 'optimizer-and-parameters' },
];

/** Every parallel plan of the search space that divides the cluster and the model, in search order. */
/** t, p, c, d (and on a cluster of groups, the group of each stage) that divide the GPUs and the model. */
interface Layout {
  readonly tp: number;
  readonly pp: number;
  readonly cp: number;
  readonly dp: number;
  readonly stageGroups?: readonly number[];
}

function* layouts(request: SearchRequest, funnel: SearchFunnel): Generator<Layout> {
  const { cluster } = request;
  if (cluster === undefined) {
    for (const tp of tensorDegrees(request, funnel)) for (const pp of pipelineDegrees(request, tp, funnel)) {
      for (const cp of contextDegrees(request, tp, pp, funnel)) yield { tp, pp, cp, dp: request.gpus / (tp * pp * cp) };
    }
    return;
  }
  // Tensor-, context- and data-parallel groups stay inside a group: every group holds whole stages of t·c·d GPUs, and
  // the pipeline runs through the groups in order.
  const common = cluster.groups.reduce((a, group) => gcd(a, group.gpus), 0);
  for (const tp of tensorDegrees({ ...request, gpus: common }, funnel)) {
    for (const cp of contextDegrees({ ...request, gpus: common }, tp, 1, funnel)) {
      for (const dp of (request.dp ?? divisors(common / (tp * cp))).filter((d) => (common / (tp * cp)) % d === 0)) {
        // Counted before the stages are listed: a group of 10¹⁵ GPUs would hold more stages than an array can.
        const pp = cluster.groups.reduce((stages, group) => stages + group.gpus / (tp * cp * dp), 0);
        if (request.pp !== undefined && !funnel.keep('pp', request.pp.includes(pp), 'pp is the stages the groups hold at this tp, cp and dp', `pp ${pp}`)) continue;
        if (!funnel.keep('pp', pp <= request.model.layers, `pp must leave at least one of the ${request.model.layers} layers on every pipeline rank`, `pp ${pp}`)) continue;
        const stageGroups = cluster.groups.flatMap((group, index) => Array.from({ length: group.gpus / (tp * cp * dp) }, () => index));
        yield { tp, pp, cp, dp, stageGroups };
      }
    }
  }
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

function* candidatePlans(request: SearchRequest, states: readonly StateChoice[], funnel: SearchFunnel): Generator<ParallelPlan> {
  const { globalBatchSize } = request;
  const maxMicroBatch = request.maxMicroBatchSize ?? 16;
  for (const { tp, pp, cp, dp, stageGroups } of layouts(request, funnel)) {
    if (!funnel.keep('batch', globalBatchSize % dp === 0,
      `the global batch ${globalBatchSize} must be a multiple of the data-parallel degree gpus / (tp × pp × cp)`, `dp ${dp}`)) continue;
    const perPipeline = globalBatchSize / dp;
    for (const microBatchSize of divisors(perPipeline).filter((b) => b <= maxMicroBatch)) {
      for (const { schedule, chunks } of scheduleChoices(request, pp, perPipeline / microBatchSize, funnel)) {
        for (const recompute of request.recompute ?? recomputeChoices(request)) for (const zero of request.zero ?? ([0, 1, 2, 3] as const)) {
          if (!funnel.keep('zero', zero === 0 || dp * cp > 1, 'ZeRO needs more than one data-parallel replica to shard over', `ZeRO-${zero} at dp ${dp}`)) continue;
          for (const { ep, etp } of expertGrids(request, tp, tp * cp * dp, funnel)) {
            const sequenceParallel = (request.sequenceParallel ?? true) && tp > 1;
            if ((ep > 1 || etp !== tp) && tp > 1 && !sequenceParallel) {
              funnel.reject('ep', 'expert parallelism with tp above 1 needs sequence parallelism', `ep ${ep} at tp ${tp}`);
              continue;
            }
            for (const state of states) {
              if (!funnel.keep('zero', state.offload !== 'optimizer-and-parameters' || zero === 3,
                'offloading the parameters needs ZeRO-3', `ZeRO-${zero}`)) continue;
              for (const cpCommunication of contextCommunications(request, tp, cp)) {
                yield {
                  tp, pp, dp, microBatchSize, globalBatchSize, virtualStages: chunks, schedule, recompute, sequenceParallel, zero,
                  flashAttention: request.flashAttention ?? true,
                  overlapGradReduce: request.overlapGradReduce ?? true,
                  ...(request.tpCommOverlap && tp > 1 ? { tpCommOverlap: true } : {}),
                  ...(cp > 1 ? { cp, cpCommunication } : {}),
                  ...(ep > 1 ? { ep } : {}),
                  ...(etp !== tp ? { etp } : {}),
                  ...(state.optimizer === 'adam' ? {} : { optimizer: state.optimizer }),
                  ...(state.offload === 'none' ? {} : { offload: state.offload }),
                  ...(stageGroups === undefined ? {} : { stageGroups }),
                };
              }
            }
          }
        }
      }
    }
  }
}

/** One pass of the search over the given optimizer states. */
function searchStates(request: SearchRequest, states: readonly StateChoice[]): Omit<SearchResult, 'offloaded'> {
  const precision = request.precision ?? 'bf16';
  const funnel = new SearchFunnel();
  const kept: Estimate[] = [];
  let considered = 0;
  let feasible = 0;
  let leanest: { job: Job; memory: MemoryBreakdown } | undefined;
  for (const candidate of candidatePlans(request, states, funnel)) {
    const base: Job = {
      model: request.model, gpu: request.gpu, gpus: request.gpus, parallel: candidate,
      precision, fp32Gradients: request.fp32Gradients ?? defaultFp32Gradients(precision),
      ...(request.cluster === undefined ? {} : { cluster: request.cluster }),
    };
    const job = request.cluster === undefined ? base : { ...base, parallel: { ...candidate, layersPerStage: speedSplit(base) } };
    considered++;
    const memory = estimatePlanMemory(job);
    if (leanest === undefined || memory.total < leanest.memory.total) leanest = { job, memory };
    if (!memory.fits) continue;
    feasible++;
    insertFastest(kept, estimate(job), request.top ?? 5);
  }
  return {
    plans: kept, leanest: leanest === undefined ? undefined : estimate(leanest.job), considered, feasible,
    emptyBecause: considered === 0 ? funnel.lastRules() : [],
  };
}

/**
 * Every configuration that divides the cluster and the model, each estimated; the `top` fastest that fit. With all
 * state on the GPUs first; when nothing fits that way, again with 8-bit Adam and offloading to host memory.
 */
export function searchPlans(request: SearchRequest): SearchResult {
  checkRequest(request);
  const first = searchStates(request, request.states ?? onGpu);
  if (first.plans.length > 0 || request.states !== undefined || first.considered === 0) return { ...first, offloaded: false };
  const lean = searchStates(request, leanStates);
  return { ...lean, considered: first.considered + lean.considered, offloaded: true };
}

/** Keeps `list` sorted by step time and at most `limit` long. */
function insertFastest(list: Estimate[], candidate: Estimate, limit: number): void {
  if (list.length === limit && candidate.stepTimeS >= list[list.length - 1]!.stepTimeS) return;
  let index = list.length;
  while (index > 0 && list[index - 1]!.stepTimeS > candidate.stepTimeS) index--;
  list.splice(index, 0, candidate);
  if (list.length > limit) list.pop();
}
