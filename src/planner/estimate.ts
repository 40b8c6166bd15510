import { UsageError } from '../errors.js';
import { balancedSplit } from './cluster.js';
import { scheduleEntry } from './schedule-rules.js';
import { LINK_EFFICIENCY, allReduceSeconds, placeGroup, sendSeconds } from './communication.js';
import { contextParallelSeconds } from './context-parallel-time.js';
import { dataParallelSeconds } from './data-parallel-time.js';
import { expertParallelSeconds } from './expert-parallel-time.js';
import { modelFlopsPerStep, recomputeFlopsPerStep } from './flops.js';
import { peakFlops, type Gpu } from './hardware.js';
import { streamSeconds, type Device } from './kernels.js';
import { tensorParallelSeconds } from './tensor-parallel-time.js';
import { layerTimes, outputLayerTimes, tokensPerGpu, type LayerSettings, type LayerTimes } from './layer-time.js';
import {
  activationBytesPerLayer, denseReplicas, expertReplicas, optimizerBytesPerParameter, outputLayerActivationBytes, rankParameters,
  rankShares, rankStateBytes,
  type RankShare, type StageParameters,
} from './memory.js';
import { layerParameterParts, moeOf, type LayerKind, type ModelShape } from './model.js';
import { offloadSeconds } from './offload-time.js';
import { pipelineShape } from './pipeline.js';
import {
  contextParallelDegree as cp, expertParallelDegree, expertTensorDegree, microbatchesPerStep, rankGpus, type Job, type ParallelPlan,
} from './plan.js';
import { validateJob } from './validate-job.js';

/** CUDA context, cuBLAS and NCCL workspaces: held on every GPU whatever the plan, bytes. */
export const WORKSPACE_BYTES = 2 ** 30;
/** Allocator fragmentation allowance, as a share of what the plan itself allocates. */
export const FRAGMENTATION_SHARE = 0.1;

/** Per-GPU memory of the worst pipeline rank, bytes. `headroom` is workspace plus fragmentation, kept apart. */
export interface MemoryBreakdown {
  readonly weights: number;
  readonly gradients: number;
  readonly optimizer: number;
  readonly activations: number;
  readonly headroom: number;
  readonly total: number;
  readonly capacity: number;
  readonly fits: boolean;
  /** Which rank is the worst: the first (embedding, most micro-batches in flight), the last (output layer), or one between. */
  readonly worstRank: 'first' | 'last' | 'middle';
  /** Its index among the pipeline ranks, 0 … p−1. */
  readonly worstRankIndex: number;
  /** Host memory one node needs for what its GPUs offload (0 without offloading), and what a node has, bytes. */
  readonly host: number;
  readonly hostCapacity: number;
}

/** Seconds of one step, split so that the parts add up to `step`. */
export interface TimeBreakdown {
  /** Kernels of forward, backward and recomputation on the slowest rank. */
  readonly compute: number;
  /** Exposed tensor-parallel all-reduces (or reduce-scatter/all-gather pairs). */
  readonly tensorParallel: number;
  /** Context parallelism's K/V exchange (or all-to-alls), exposed plus the slowdown of what overlaps. */
  readonly contextParallel: number;
  /** Expert parallelism's token dispatch and combine all-to-alls. */
  readonly expertParallel: number;
  /** Activation and gradient messages between pipeline ranks. */
  readonly pipelineSends: number;
  /** Idle time of the pipeline bubble. */
  readonly bubble: number;
  /** Data-parallel gradient reduction (and ZeRO gathers) not hidden behind the backward. */
  readonly dataParallel: number;
  readonly optimizer: number;
  /** Offloading: PCIe copies not hidden behind compute and the CPU's Adam step. */
  readonly offload: number;
  readonly step: number;
}

export interface Estimate {
  readonly job: Job;
  readonly microbatches: number;
  readonly memory: MemoryBreakdown;
  readonly time: TimeBreakdown;
  readonly stepTimeS: number;
  readonly tokensPerS: number;
  /** Model plus recomputation FLOPs per GPU per second, the way Megatron reports it. */
  readonly tflopsPerGpu: number;
  /** Model FLOPs only, over the peak. */
  readonly mfu: number;
  /** The worst rank's idle share of the pipeline's makespan under the schedule (uniform costs), 0 … 1. */
  readonly bubbleFraction: number;
  readonly modelFlops: number;
  readonly recomputeFlops: number;
  /** Whether the tensor-parallel group spans more than one node. */
  readonly tensorParallelCrossesNodes: boolean;
  /** Whether the context-parallel group spans more than one node. */
  readonly contextParallelCrossesNodes: boolean;
  /** Whether the expert-parallel group spans more than one node. */
  readonly expertParallelCrossesNodes: boolean;
  /** The pipeline rank that sets the pace (the most work per micro-batch), 0 … p−1. */
  readonly slowestRank: number;
  /** Seconds of one activation or gradient message across each pipeline boundary, [pp − 1]. */
  readonly boundarySeconds: readonly number[];
}

function layerSettings(job: Job): LayerSettings {
  const p = job.parallel;
  return {
    microBatchSize: p.microBatchSize,
    tp: p.tp,
    cp: cp(p),
    ep: expertParallelDegree(p),
    etp: expertTensorDegree(p),
    sequenceParallel: p.sequenceParallel && p.tp > 1,
    recompute: p.recompute,
    flashAttention: p.flashAttention,
    gradientBytes: job.fp32Gradients && (p.offload ?? 'none') === 'none' ? 4 : 2, // offloading keeps 16-bit gradients on the GPU
    tpCommOverlap: p.tpCommOverlap ?? false,
  };
}

/** Seconds one layer of a kind costs one GPU per micro-batch: kernels and each kind of model-parallel communication. */
interface LayerCost {
  readonly times: LayerTimes;
  readonly tensorParallel: number;
  readonly contextParallel: number;
  readonly expertParallel: number;
}

const layerKinds: readonly LayerKind[] = ['dense', 'moe'];

function layerCosts(job: Job, device: Device, settings: LayerSettings): Record<LayerKind, LayerCost> {
  const { model, gpu, parallel } = job;
  const moe = moeOf(model);
  const cost = (kind: LayerKind): LayerCost => {
    const times = layerTimes(model, device, settings, kind);
    return {
      times,
      tensorParallel: tensorParallelSeconds(gpu, model, settings, times, kind),
      contextParallel: contextParallelSeconds(gpu, model, settings, times, parallel.cpCommunication ?? 'ring'),
      expertParallel: kind === 'moe' && moe !== undefined ? expertParallelSeconds(gpu, model, moe, settings, parallel.moeDispatcher) : 0,
    };
  };
  const dense = cost('dense');
  return { dense, moe: moe === undefined ? dense : cost('moe') };
}

/** One pipeline rank's seconds per micro-batch, by part. */
interface RankTime {
  readonly compute: number;
  readonly tensorParallel: number;
  readonly contextParallel: number;
  readonly expertParallel: number;
  readonly total: number;
  /** Forward, and backward with recomputation, of its layers: the windows data-parallel traffic hides behind. */
  readonly forward: number;
  readonly backward: number;
}

function rankTime(share: RankShare, costs: Record<LayerKind, LayerCost>, ends: { embedding: number; output: number }): RankTime {
  let compute = (share.embedding ? ends.embedding : 0) + (share.output ? ends.output : 0);
  let tensorParallel = 0;
  let contextParallel = 0;
  let expertParallel = 0;
  let forward = 0;
  let backward = 0;
  for (const kind of layerKinds) {
    const count = share.layers[kind];
    if (count === 0) continue;
    const cost = costs[kind];
    compute += count * (cost.times.forward + cost.times.backward + cost.times.recompute);
    tensorParallel += count * cost.tensorParallel;
    contextParallel += count * cost.contextParallel;
    expertParallel += count * cost.expertParallel;
    forward += count * cost.times.forward;
    backward += count * (cost.times.backward + cost.times.recompute);
  }
  return { compute, tensorParallel, contextParallel, expertParallel, total: compute + tensorParallel + contextParallel + expertParallel, forward, backward };
}

/** The index of the largest value (the first of equals). */
const argmax = (values: readonly number[]): number => values.reduce((best, value, i) => (value > values[best]! ? i : best), 0);

function estimateMemory(
  job: Job, shares: readonly RankShare[], parameters: readonly StageParameters[], inFlight: readonly number[], gpus: readonly Gpu[],
): MemoryBreakdown {
  const { model, parallel } = job;
  const settings = layerSettings(job);
  const isMoe = moeOf(model) !== undefined;
  const denseActivations = activationBytesPerLayer(model, parallel.microBatchSize, parallel.tp, settings);
  const moeActivations = isMoe
    ? activationBytesPerLayer(model, parallel.microBatchSize, parallel.tp, { ...settings, kind: 'moe' })
    : denseActivations;
  const endsShareRank = shares[0]!.output;
  const outputLayer = outputLayerActivationBytes(model, parallel.microBatchSize, parallel.tp, settings.cp);
  // ZeRO-3 holds two gathered layers (the one computing and the one prefetched) in full, 16-bit.
  const gathered = (kind: LayerKind): number => {
    if (parallel.zero !== 3) return 0;
    const parts = layerParameterParts(model, kind);
    return 2 * 2 * (parts.dense / parallel.tp + parts.experts / (settings.ep * settings.etp));
  };
  const denseGathered = gathered('dense');
  const moeGathered = isMoe ? gathered('moe') : denseGathered;
  const rankMemory = (rank: number) => {
    const share = shares[rank]!;
    const states = rankStateBytes(parameters[rank]!, parallel, job.fp32Gradients);
    let activations = inFlight[rank]! * (share.layers.dense * denseActivations + share.layers.moe * moeActivations);
    if (share.output) activations += (endsShareRank ? 1 : Math.max(1, inFlight[rank]! / parallel.virtualStages)) * outputLayer;
    const weights = states.weights + Math.max(share.layers.dense > 0 ? denseGathered : 0, share.layers.moe > 0 ? moeGathered : 0);
    const allocated = weights + states.gradients + states.optimizer + activations;
    const headroom = WORKSPACE_BYTES + FRAGMENTATION_SHARE * allocated;
    return {
      weights, gradients: states.gradients, optimizer: states.optimizer, activations, headroom, total: allocated + headroom, host: states.host,
    };
  };
  // The fullest rank against its own GPU's memory (ranks may sit on different GPUs).
  const candidates = candidateRanks(shares, inFlight, gpus).map((rank) => ({ rank, memory: rankMemory(rank) }));
  let worst = candidates[0]!;
  for (const candidate of candidates) {
    if (candidate.memory.total / gpus[candidate.rank]!.memoryBytes > worst.memory.total / gpus[worst.rank]!.memoryBytes) worst = candidate;
  }
  const worstRankIndex = worst.rank;
  const capacity = gpus[worstRankIndex]!.memoryBytes;
  const worstRank = worstRankIndex === 0 ? 'first' : worstRankIndex === shares.length - 1 ? 'last' : 'middle';
  // Every GPU of a node offloads into the same host memory (the fullest rank's share, for each of them).
  const hosts = candidates.map(({ rank, memory }) => memory.host * Math.min(gpus[rank]!.gpusPerNode, job.gpus));
  const hostIndex = argmax(hosts.map((host, i) => host / gpus[candidates[i]!.rank]!.hostMemoryBytes));
  const host = hosts[hostIndex]!;
  const hostCapacity = gpus[candidates[hostIndex]!.rank]!.hostMemoryBytes;
  return { ...worst.memory, host, hostCapacity, capacity, fits: worst.memory.total <= capacity && host <= hostCapacity, worstRank, worstRankIndex };
}

/**
 * The ranks that can be the fullest: ranks holding the same share on the same GPU differ only in micro-batches in
 * flight, and memory grows with them, so of each such class only the first rank with the most in flight can be.
 */
function candidateRanks(shares: readonly RankShare[], inFlight: readonly number[], gpus: readonly Gpu[]): number[] {
  const best = new Map<string, number>();
  shares.forEach((share, rank) => {
    const key = `${share.layers.dense}/${share.layers.moe}/${share.embedding}/${share.output}/${gpus[rank]!.id}`;
    const known = best.get(key);
    if (known === undefined || inFlight[rank]! > inFlight[known]!) best.set(key, rank);
  });
  return [...best.values()].sort((a, b) => a - b);
}

/** What memory and time both start from: the schedule's shape and what each pipeline rank holds. */
function pipelineOf(job: Job) {
  validateJob(job);
  const { model, parallel } = job;
  const shape = pipelineShape(parallel.schedule, parallel.pp, microbatchesPerStep(parallel), parallel.virtualStages);
  return { shape, ...sharesOf(model, parallel, shape.lastStageRank) };
}

/** Each model's rank shares and parameters by the plan's split: the search meets the same few thousands of times. */
const sharesCache = new WeakMap<ModelShape, Map<string, { shares: RankShare[]; parameters: StageParameters[] }>>();

function sharesOf(model: ModelShape, parallel: ParallelPlan, outputRank: number): { shares: RankShare[]; parameters: StageParameters[] } {
  const key = [parallel.pp, outputRank, parallel.tp, parallel.ep ?? 1, expertTensorDegree(parallel), parallel.layersPerStage?.join(',') ?? ''].join('|');
  let byPlan = sharesCache.get(model);
  if (byPlan === undefined) sharesCache.set(model, (byPlan = new Map()));
  let known = byPlan.get(key);
  if (known === undefined) {
    const shares = rankShares(model, parallel, outputRank);
    byPlan.set(key, (known = { shares, parameters: shares.map((share) => rankParameters(model, parallel, share)) }));
  }
  return known;
}

/** Memory per GPU of one configuration alone: what the search checks before it times a configuration. */
export function estimatePlanMemory(job: Job): MemoryBreakdown {
  const { shape, shares, parameters } = pipelineOf(job);
  return estimateMemory(job, shares, parameters, shape.inFlight, rankGpus(job));
}

/** Per GPU kind of a job: the device and what one layer of each kind, and the embedding and output layer, cost it. */
interface RankCosts {
  readonly device: Device;
  readonly layers: Record<LayerKind, LayerCost>;
  readonly ends: { readonly embedding: number; readonly output: number };
}

function costsOn(job: Job, gpu: Gpu, settings: LayerSettings): RankCosts {
  const device: Device = { gpu, peak: peakFlops(gpu, job.precision) };
  const output = outputLayerTimes(job.model, device, settings);
  const tokens = tokensPerGpu(job.model, settings);
  return {
    device,
    layers: layerCosts({ ...job, gpu }, device, settings),
    ends: { embedding: streamSeconds(device, 8 * tokens * job.model.hidden, 2), output: output.forward + output.backward }, // lookup, scatter-add
  };
}

/** Seconds of one message across each pipeline boundary, [pp − 1]: NVLink, the group's network, or the link between groups. */
function boundarySeconds(job: Job, gpus: readonly Gpu[], messageBytes: number, cp: number): number[] {
  const { parallel, cluster } = job;
  const stageGpus = parallel.tp * cp * parallel.dp;
  const groups = parallel.stageGroups;
  // Stages of one group: once they outgrow a node some boundary crosses its network, and in the steady state every
  // micro-batch waits on that slowest boundary.
  const stagesIn = (rank: number): number => (groups === undefined ? parallel.pp : groups.filter((g) => g === groups[rank]).length);
  return Array.from({ length: Math.max(parallel.pp - 1, 0) }, (_, boundary) => {
    if (groups !== undefined && cluster !== undefined && groups[boundary] !== groups[boundary + 1]) {
      // Every GPU of the stage sends its share at once over the one link between the groups.
      return (stageGpus * messageBytes) / (cluster.interGroupBandwidth * LINK_EFFICIENCY) + cluster.interGroupLatency;
    }
    const gpu = gpus[boundary]!;
    return sendSeconds(gpu, messageBytes, stagesIn(boundary) * stageGpus > gpu.gpusPerNode);
  });
}

/** Predicts memory and step time of one configuration. Throws a UsageError if it cannot run at all. */
export function estimate(job: Job): Estimate {
  const { shape, shares, parameters } = pipelineOf(job);
  const { model, parallel } = job;
  const { tp, pp, dp } = parallel;
  const m = microbatchesPerStep(parallel);
  const settings = layerSettings(job);
  const endsShareRank = shape.lastStageRank === 0;
  const bubbleFraction = shape.bubbleFraction.reduce((most, fraction) => Math.max(most, fraction), 0);
  const gpus = rankGpus(job);

  // One micro-batch through each pipeline rank, on one GPU of the rank's kind.
  const byKind = new Map<string, RankCosts>();
  const costsOf = (gpu: Gpu): RankCosts => {
    let known = byKind.get(gpu.id);
    if (known === undefined) byKind.set(gpu.id, (known = costsOn(job, gpu, settings)));
    return known;
  };
  const times = shares.map((share, rank) => rankTime(share, costsOf(gpus[rank]!).layers, costsOf(gpus[rank]!).ends));

  // Messages between pipeline ranks: activations forward, gradients back, split over the t ranks of a stage; a rank
  // waits on the slower of its two boundaries, once per chunk each way.
  const messageBytes = pp > 1 ? (2 * tokensPerGpu(model, settings) * model.hidden) / tp : 0;
  const boundaries = boundarySeconds(job, gpus, messageBytes, settings.cp);
  const sendsOf = (rank: number): number =>
    2 * parallel.virtualStages * Math.max(boundaries[rank - 1] ?? 0, boundaries[rank] ?? 0);
  const slowestRank = argmax(times.map((time, rank) => time.total + sendsOf(rank)));
  const slowest = times[slowestRank]!;
  const sends = sendsOf(slowestRank);
  const perMicrobatch = slowest.total + sends;
  const busy = m * perMicrobatch;
  const pipelineSeconds = busy / (1 - bubbleFraction);

  // Data parallelism: each rank reduces its gradients (and gathers ZeRO's weights) behind its own backward.
  const dataParallelPerRank = parameters.map((held, rank) => {
    const gpu = gpus[rank]!;
    return dataParallelSeconds({
      gpu, parallel, microbatches: m, gradientBytes: settings.gradientBytes,
      replicated: [
        { parameters: held.layers + held.embeddings, group: placeGroup(gpu, denseReplicas(parallel), tp) },
        { parameters: held.experts, group: placeGroup(gpu, expertReplicas(parallel), settings.etp * settings.ep) },
      ],
      forwardPerMicrobatch: times[rank]!.forward,
      backwardPerMicrobatch: times[rank]!.backward,
    });
  });
  let dataParallel = dataParallelPerRank.reduce((most, seconds) => Math.max(most, seconds), 0);
  if (model.tiedEmbeddings && !endsShareRank) {
    // The first and last ranks sum their copies of the word embedding's gradient (over the link if they are in two groups).
    const embeddingGradient = (model.vocab * model.hidden * settings.gradientBytes) / tp;
    const cluster = job.cluster;
    const apart = cluster !== undefined && parallel.stageGroups !== undefined && parallel.stageGroups[0] !== parallel.stageGroups[pp - 1];
    dataParallel += apart
      ? (tp * cp(parallel) * dp * embeddingGradient) / (cluster.interGroupBandwidth * LINK_EFFICIENCY) + cluster.interGroupLatency
      : allReduceSeconds(gpus[0]!, embeddingGradient, { size: 2, perNode: 1, nodes: 2 });
  }

  // Adam over this GPU's shard: read and write fp32 master and two moments (1-byte moments with 8-bit Adam), read the
  // gradient, write 16-bit weights; on the host's CPUs instead when the optimizer is offloaded.
  const sharded = (held: StageParameters, byZero: boolean): number =>
    (held.layers + held.embeddings) / (byZero ? denseReplicas(parallel) : 1) + held.experts / (byZero ? expertReplicas(parallel) : 1);
  const offloaded = (parallel.offload ?? 'none') !== 'none';
  const optimizerStream = 2 * optimizerBytesPerParameter(parallel.optimizer ?? 'adam') + settings.gradientBytes + 2;
  const optimizer = offloaded ? 0 : parameters.reduce((most, held, rank) =>
    Math.max(most, streamSeconds(costsOf(gpus[rank]!).device, sharded(held, parallel.zero >= 1) * optimizerStream, 4)), 0);
  const offload = parameters.reduce((most, held, rank) => Math.max(most, offloadSeconds({
    gpu: gpus[rank]!, parallel, microbatches: m, shardParameters: sharded(held, parallel.zero >= 1),
    gpusPerNode: Math.min(gpus[rank]!.gpusPerNode, job.gpus), parameters: sharded(held, false), parameterShard: sharded(held, true),
    forwardPerMicrobatch: times[rank]!.forward, backwardPerMicrobatch: times[rank]!.backward,
  })), 0);

  const step = pipelineSeconds + dataParallel + optimizer + offload;
  const memory = estimateMemory(job, shares, parameters, shape.inFlight, gpus);
  if (!Number.isFinite(step) || !Number.isFinite(memory.total) || !Number.isFinite(memory.capacity)) {
    throw new UsageError(
      `the estimate for ${job.model.name} on ${job.gpus} × ${job.gpu.id} overflows (step ${step} s, memory ${memory.total} of ${memory.capacity} bytes); check the model and hardware figures`,
    );
  }
  const sequences = parallel.globalBatchSize;
  const modelFlops = modelFlopsPerStep(model, sequences);
  const recomputeFlops = recomputeFlopsPerStep(model, sequences, parallel.recompute, parallel.flashAttention);
  // Every GPU's peak: t·c·d GPUs of each rank's kind.
  const peak = gpus.reduce((sum, gpu) => sum + costsOf(gpu).device.peak, 0) * tp * settings.cp * dp;
  const first = gpus[0]!;
  return {
    job,
    microbatches: m,
    memory,
    time: {
      compute: m * slowest.compute,
      tensorParallel: m * slowest.tensorParallel,
      contextParallel: m * slowest.contextParallel,
      expertParallel: m * slowest.expertParallel,
      pipelineSends: m * sends,
      bubble: pipelineSeconds - busy,
      dataParallel,
      optimizer,
      offload,
      step,
    },
    stepTimeS: step,
    tokensPerS: (sequences * model.seqLength) / step,
    tflopsPerGpu: (modelFlops + recomputeFlops) / (step * job.gpus) / 1e12,
    mfu: modelFlops / (step * peak),
    bubbleFraction,
    modelFlops,
    recomputeFlops,
    tensorParallelCrossesNodes: placeGroup(first, tp, 1).nodes > 1,
    contextParallelCrossesNodes: placeGroup(first, settings.cp, tp).nodes > 1,
    expertParallelCrossesNodes: placeGroup(first, settings.ep, settings.etp).nodes > 1,
    slowestRank,
    boundarySeconds: boundaries,
  };
}

/**
 * Layers per pipeline rank that match each rank's speed, the uneven split a pipeline over mixed GPUs needs: one layer
 * costs a rank what its GPU takes for it, compute and model-parallel communication, and the embedding and output layer
 * add to the ranks that hold them.
 */
export function speedSplit(job: Job): number[] {
  const settings = layerSettings(job);
  const gpus = rankGpus(job);
  const kind: LayerKind = moeOf(job.model) === undefined ? 'dense' : 'moe';
  const byKind = new Map<string, RankCosts>();
  const costs = gpus.map((gpu) => {
    let known = byKind.get(gpu.id);
    if (known === undefined) byKind.set(gpu.id, (known = costsOn(job, gpu, settings)));
    return known;
  });
  const perLayer = costs.map((cost) => {
    const layer = cost.layers[kind];
    return layer.times.forward + layer.times.backward + layer.times.recompute + layer.tensorParallel + layer.contextParallel + layer.expertParallel;
  });
  const outputRank = scheduleEntry(job.parallel.schedule).placement === 'v' ? 0 : gpus.length - 1;
  const extra = costs.map((cost, rank) => (rank === 0 ? cost.ends.embedding : 0) + (rank === outputRank ? cost.ends.output : 0));
  return balancedSplit(job.model.layers, perLayer, extra);
}
