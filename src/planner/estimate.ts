import { allReduceSeconds, placeGroup, sendSeconds } from './communication.js';
import { dataParallelSeconds } from './data-parallel-time.js';
import { modelFlopsPerStep, recomputeFlopsPerStep } from './flops.js';
import { peakFlops } from './hardware.js';
import { streamSeconds, type Device } from './kernels.js';
import { layerTimes, outputLayerTimes, type LayerSettings } from './layer-time.js';
import {
  activationBytesPerLayer, layersPerRank, modelStateBytes, outputLayerActivationBytes, stageParameters,
} from './memory.js';
import { layerParameters } from './model.js';
import { pipelineShape, type PipelineShape } from './pipeline.js';
import { microbatchesPerStep, type Job } from './plan.js';
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
  /** Which rank is the worst: the first (embedding, most micro-batches in flight) or the last (output layer). */
  readonly worstRank: 'first' | 'last';
}

/** Seconds of one step, split so that the parts add up to `step`. */
export interface TimeBreakdown {
  /** Kernels of forward, backward and recomputation on the slowest rank. */
  readonly compute: number;
  /** Exposed tensor-parallel all-reduces (or reduce-scatter/all-gather pairs). */
  readonly tensorParallel: number;
  /** Activation and gradient messages between pipeline ranks. */
  readonly pipelineSends: number;
  /** Idle time of the pipeline bubble. */
  readonly bubble: number;
  /** Data-parallel gradient reduction (and ZeRO gathers) not hidden behind the backward. */
  readonly dataParallel: number;
  readonly optimizer: number;
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
  readonly bubbleFraction: number;
  readonly modelFlops: number;
  readonly recomputeFlops: number;
  /** Whether the tensor-parallel group spans more than one node. */
  readonly tensorParallelCrossesNodes: boolean;
}

function layerSettings(job: Job): LayerSettings {
  const p = job.parallel;
  return {
    microBatchSize: p.microBatchSize,
    tp: p.tp,
    sequenceParallel: p.sequenceParallel && p.tp > 1,
    recompute: p.recompute,
    flashAttention: p.flashAttention,
    gradientBytes: job.fp32Gradients ? 4 : 2,
  };
}

function estimateMemory(job: Job, shape: PipelineShape): MemoryBreakdown {
  const { model, parallel } = job;
  const settings = layerSettings(job);
  const perLayer = activationBytesPerLayer(model, parallel.microBatchSize, parallel.tp, settings);
  const layers = layersPerRank(model, parallel.pp);
  const endsShareRank = shape.lastStageRank === 0;
  const inFlightFirst = shape.inFlight[0]!;
  const inFlightLast = shape.inFlight[shape.lastStageRank]!;
  const parameters = stageParameters(model, parallel, endsShareRank);
  const gatheredLayers = parallel.zero === 3 ? (2 * 2 * layerParameters(model)) / parallel.tp : 0; // two layers gathered
  const outputLayer = outputLayerActivationBytes(model, parallel.microBatchSize, parallel.tp);
  const rank = (which: 'first' | 'last') => {
    const params = parameters[which];
    const states = modelStateBytes(params.layers + params.embeddings, job.fp32Gradients, parallel.zero, parallel.dp);
    const activations = which === 'first'
      ? inFlightFirst * layers.first * perLayer + (endsShareRank ? outputLayer : 0)
      : inFlightLast * layers.last * perLayer + Math.max(1, inFlightLast / parallel.virtualStages) * outputLayer;
    const weights = states.weights + gatheredLayers;
    const allocated = weights + states.gradients + states.optimizer + activations;
    const headroom = WORKSPACE_BYTES + FRAGMENTATION_SHARE * allocated;
    return { weights, gradients: states.gradients, optimizer: states.optimizer, activations, headroom, total: allocated + headroom };
  };
  const first = rank('first');
  const last = rank('last');
  const worst = !endsShareRank && last.total > first.total ? last : first;
  const capacity = job.gpu.memoryBytes;
  return { ...worst, capacity, fits: worst.total <= capacity, worstRank: worst === last ? 'last' : 'first' };
}

/** Predicts memory and step time of one configuration. Throws a UsageError if it cannot run at all. */
export function estimate(job: Job): Estimate {
  validateJob(job);
  const { model, parallel, gpu } = job;
  const { tp, pp, dp } = parallel;
  const m = microbatchesPerStep(parallel);
  const device: Device = { gpu, peak: peakFlops(gpu, job.precision) };
  const settings = layerSettings(job);
  const shape = pipelineShape(parallel.schedule, pp, m, parallel.virtualStages);
  const endsShareRank = shape.lastStageRank === 0;
  const bubbleFraction = shape.bubbleFraction.reduce((most, fraction) => Math.max(most, fraction), 0);

  // One micro-batch through one layer on one GPU.
  const layer = layerTimes(model, device, settings);
  const tokens = parallel.microBatchSize * model.seqLength;
  const activationMessage = 2 * tokens * model.hidden;
  const tensorGroup = placeGroup(gpu, tp, 1);
  const tensorParallelCrossesNodes = tensorGroup.nodes > 1;
  const collective = allReduceSeconds(gpu, activationMessage, tensorGroup); // RS + AG under SP: the same volume
  const collectivesPerLayer = 4 + (parallel.recompute === 'full' ? 2 : 0); // two per forward, two per backward
  const layerCompute = layer.forward + layer.backward + layer.recompute;
  const layerTensorParallel = collectivesPerLayer * collective;

  // Messages between pipeline ranks: activations forward, gradients back, split over the t ranks of a stage.
  const neighbourCrossesNodes = tp * dp >= gpu.gpusPerNode;
  const messageBytes = pp > 1 ? activationMessage / tp : 0;
  const sends = 2 * parallel.virtualStages * sendSeconds(gpu, messageBytes, neighbourCrossesNodes);

  const layers = layersPerRank(model, pp);
  const output = outputLayerTimes(model, device, settings);
  const embedding = streamSeconds(device, 8 * tokens * model.hidden, 2); // lookup forward, scatter-add backward
  const firstCompute = layers.first * layerCompute + embedding + (endsShareRank ? output.forward + output.backward : 0);
  const lastCompute = layers.last * layerCompute + (endsShareRank ? 0 : output.forward + output.backward);
  const firstRank = { compute: firstCompute, tensorParallel: layers.first * layerTensorParallel };
  const lastRank = { compute: lastCompute, tensorParallel: layers.last * layerTensorParallel };
  const slowest = firstRank.compute + firstRank.tensorParallel >= lastRank.compute + lastRank.tensorParallel ? firstRank : lastRank;
  const perMicrobatch = slowest.compute + slowest.tensorParallel + sends;
  const busy = m * perMicrobatch;
  const pipelineSeconds = busy / (1 - bubbleFraction);

  // Data parallelism: gradient reduction and ZeRO's gathers, on the busiest rank.
  const parameters = stageParameters(model, parallel, endsShareRank);
  const rankParameters = Math.max(
    parameters.first.layers + parameters.first.embeddings,
    parameters.last.layers + parameters.last.embeddings,
  );
  let dataParallel = dataParallelSeconds({
    gpu, parallel, microbatches: m, parameters: rankParameters, gradientBytes: settings.gradientBytes,
    forwardPerMicrobatch: (slowest === firstRank ? layers.first : layers.last) * layer.forward,
    backwardPerMicrobatch: (slowest === firstRank ? layers.first : layers.last) * (layer.backward + layer.recompute),
  });
  if (model.tiedEmbeddings && !endsShareRank) {
    // The first and last ranks sum their copies of the word embedding's gradient.
    const embeddingGradient = (model.vocab * model.hidden * settings.gradientBytes) / tp;
    dataParallel += allReduceSeconds(gpu, embeddingGradient, { size: 2, perNode: 1, nodes: 2 });
  }

  // Adam over this GPU's shard: read and write fp32 master, two moments, read the gradient, write 16-bit weights.
  const optimizerParameters = rankParameters / (parallel.zero >= 1 ? dp : 1);
  const optimizer = streamSeconds(device, optimizerParameters * (24 + settings.gradientBytes + 2), 4);

  const step = pipelineSeconds + dataParallel + optimizer;
  const sequences = parallel.globalBatchSize;
  const modelFlops = modelFlopsPerStep(model, sequences);
  const recomputeFlops = recomputeFlopsPerStep(model, sequences, parallel.recompute, parallel.flashAttention);
  return {
    job,
    microbatches: m,
    memory: estimateMemory(job, shape),
    time: {
      compute: m * slowest.compute,
      tensorParallel: m * slowest.tensorParallel,
      pipelineSends: m * sends,
      bubble: pipelineSeconds - busy,
      dataParallel,
      optimizer,
      step,
    },
    stepTimeS: step,
    tokensPerS: (sequences * model.seqLength) / step,
    tflopsPerGpu: (modelFlops + recomputeFlops) / (step * job.gpus) / 1e12,
    mfu: modelFlops / (step * job.gpus * device.peak),
    bubbleFraction,
    modelFlops,
    recomputeFlops,
    tensorParallelCrossesNodes,
  };
}
