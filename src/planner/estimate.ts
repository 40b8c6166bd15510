import { UsageError } from '../errors.js';
import { allReduceSeconds, placeGroup, sendSeconds } from './communication.js';
import { contextParallelSeconds } from './context-parallel-time.js';
import { dataParallelSeconds } from './data-parallel-time.js';
import { expertParallelSeconds } from './expert-parallel-time.js';
import { modelFlopsPerStep, recomputeFlopsPerStep } from './flops.js';
import { peakFlops } from './hardware.js';
import { streamSeconds, type Device } from './kernels.js';
import { tensorParallelSeconds } from './tensor-parallel-time.js';
import { layerTimes, outputLayerTimes, tokensPerGpu, type LayerSettings, type LayerTimes } from './layer-time.js';
import {
  activationBytesPerLayer, denseReplicas, expertReplicas, optimizerBytesPerParameter, outputLayerActivationBytes, rankParameters,
  rankShares, rankStateBytes,
  type RankShare, type StageParameters,
} from './memory.js';
import { layerParameterParts, moeOf, type LayerKind } from './model.js';
import { offloadSeconds } from './offload-time.js';
import { pipelineShape } from './pipeline.js';
import { contextParallelDegree, expertParallelDegree, expertTensorDegree, microbatchesPerStep, type Job } from './plan.js';
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
}

function layerSettings(job: Job): LayerSettings {
  const p = job.parallel;
  return {
    microBatchSize: p.microBatchSize,
    tp: p.tp,
    cp: contextParallelDegree(p),
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

function estimateMemory(job: Job, shares: readonly RankShare[], parameters: readonly StageParameters[], inFlight: readonly number[]): MemoryBreakdown {
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
  let worstRankIndex = 0;
  let worst = rankMemory(0);
  for (let rank = 1; rank < shares.length; rank++) {
    const candidate = rankMemory(rank);
    if (candidate.total > worst.total) {
      worst = candidate;
      worstRankIndex = rank;
    }
  }
  const capacity = job.gpu.memoryBytes;
  const worstRank = worstRankIndex === 0 ? 'first' : worstRankIndex === shares.length - 1 ? 'last' : 'middle';
  // Every GPU of a node offloads into the same host memory (the fullest rank's share, for each of them).
  const host = Math.max(...shares.map((_, rank) => rankMemory(rank).host)) * Math.min(job.gpu.gpusPerNode, job.gpus);
  const hostCapacity = job.gpu.hostMemoryBytes;
  return { ...worst, host, hostCapacity, capacity, fits: worst.total <= capacity && host <= hostCapacity, worstRank, worstRankIndex };
}

/** What memory and time both start from: the schedule's shape and what each pipeline rank holds. */
function pipelineOf(job: Job) {
  validateJob(job);
  const { model, parallel } = job;
  const shape = pipelineShape(parallel.schedule, parallel.pp, microbatchesPerStep(parallel), parallel.virtualStages);
  const shares = rankShares(model, parallel, shape.lastStageRank);
  const parameters = shares.map((share) => rankParameters(model, parallel, share));
  return { shape, shares, parameters };
}

/** Memory per GPU of one configuration alone: what the search checks before it times a configuration. */
export function estimatePlanMemory(job: Job): MemoryBreakdown {
  const { shape, shares, parameters } = pipelineOf(job);
  return estimateMemory(job, shares, parameters, shape.inFlight);
}

/** Predicts memory and step time of one configuration. Throws a UsageError if it cannot run at all. */
export function estimate(job: Job): Estimate {
  const { shape, shares, parameters } = pipelineOf(job);
  const { model, parallel, gpu } = job;
  const { tp, pp, dp } = parallel;
  const m = microbatchesPerStep(parallel);
  const device: Device = { gpu, peak: peakFlops(gpu, job.precision) };
  const settings = layerSettings(job);
  const endsShareRank = shape.lastStageRank === 0;
  const bubbleFraction = Math.max(...shape.bubbleFraction);

  // One micro-batch through each pipeline rank, on one GPU.
  const costs = layerCosts(job, device, settings);
  const tokens = tokensPerGpu(model, settings);
  const output = outputLayerTimes(model, device, settings);
  const ends = {
    embedding: streamSeconds(device, 8 * tokens * model.hidden, 2), // lookup forward, scatter-add backward
    output: output.forward + output.backward,
  };
  const times = shares.map((share) => rankTime(share, costs, ends));
  const slowestRank = argmax(times.map((time) => time.total));
  const slowest = times[slowestRank]!;

  // Messages between pipeline ranks: activations forward, gradients back, split over the t ranks of a stage.
  // Neighbouring stages are t·c·d ranks apart; once a pipeline outgrows a node some boundary crosses the network, and
  // in the steady state every micro-batch waits on that slowest boundary.
  const neighbourCrossesNodes = pp * tp * settings.cp * dp > gpu.gpusPerNode;
  const messageBytes = pp > 1 ? (2 * tokens * model.hidden) / tp : 0;
  const sends = 2 * parallel.virtualStages * sendSeconds(gpu, messageBytes, neighbourCrossesNodes);
  const perMicrobatch = slowest.total + sends;
  const busy = m * perMicrobatch;
  const pipelineSeconds = busy / (1 - bubbleFraction);

  // Data parallelism: each rank reduces its gradients (and gathers ZeRO's weights) behind its own backward.
  const denseGroup = placeGroup(gpu, denseReplicas(parallel), tp);
  const expertGroup = placeGroup(gpu, expertReplicas(parallel), settings.etp * settings.ep);
  const dataParallelPerRank = parameters.map((held, rank) => dataParallelSeconds({
    gpu, parallel, microbatches: m, gradientBytes: settings.gradientBytes,
    replicated: [{ parameters: held.layers + held.embeddings, group: denseGroup }, { parameters: held.experts, group: expertGroup }],
    forwardPerMicrobatch: times[rank]!.forward,
    backwardPerMicrobatch: times[rank]!.backward,
  }));
  let dataParallel = Math.max(...dataParallelPerRank);
  if (model.tiedEmbeddings && !endsShareRank) {
    // The first and last ranks sum their copies of the word embedding's gradient.
    const embeddingGradient = (model.vocab * model.hidden * settings.gradientBytes) / tp;
    dataParallel += allReduceSeconds(gpu, embeddingGradient, { size: 2, perNode: 1, nodes: 2 });
  }

  // Adam over this GPU's shard: read and write fp32 master and two moments (1-byte moments with 8-bit Adam), read the
  // gradient, write 16-bit weights; on the host's CPUs instead when the optimizer is offloaded.
  const sharded = (held: StageParameters, byZero: boolean): number =>
    (held.layers + held.embeddings) / (byZero ? denseReplicas(parallel) : 1) + held.experts / (byZero ? expertReplicas(parallel) : 1);
  const optimizerParameters = Math.max(...parameters.map((held) => sharded(held, parallel.zero >= 1)));
  const offloaded = (parallel.offload ?? 'none') !== 'none';
  const optimizerStream = 2 * optimizerBytesPerParameter(parallel.optimizer ?? 'adam') + settings.gradientBytes + 2;
  const optimizer = offloaded ? 0 : streamSeconds(device, optimizerParameters * optimizerStream, 4);
  const offload = Math.max(...parameters.map((held, rank) => offloadSeconds({
    gpu, parallel, microbatches: m, shardParameters: sharded(held, parallel.zero >= 1),
    gpusPerNode: Math.min(gpu.gpusPerNode, job.gpus), parameters: sharded(held, false), parameterShard: sharded(held, true),
    forwardPerMicrobatch: times[rank]!.forward, backwardPerMicrobatch: times[rank]!.backward,
  })));

  const step = pipelineSeconds + dataParallel + optimizer + offload;
  const memory = estimateMemory(job, shares, parameters, shape.inFlight);
  if (!Number.isFinite(step) || !Number.isFinite(memory.total) || !Number.isFinite(memory.capacity)) {
    throw new UsageError(
      `the estimate for ${job.model.name} on ${job.gpus} × ${job.gpu.id} overflows (step ${step} s, memory ${memory.total} of ${memory.capacity} bytes); check the model and hardware figures`,
    );
  }
  const sequences = parallel.globalBatchSize;
  const modelFlops = modelFlopsPerStep(model, sequences);
  const recomputeFlops = recomputeFlopsPerStep(model, sequences, parallel.recompute, parallel.flashAttention);
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
    mfu: modelFlops / (step * job.gpus * device.peak),
    bubbleFraction,
    modelFlops,
    recomputeFlops,
    tensorParallelCrossesNodes: placeGroup(gpu, tp, 1).nodes > 1,
    contextParallelCrossesNodes: placeGroup(gpu, settings.cp, tp).nodes > 1,
    expertParallelCrossesNodes: placeGroup(gpu, settings.ep, settings.etp).nodes > 1,
    slowestRank,
  };
}
