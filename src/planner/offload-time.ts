import { LINK_EFFICIENCY } from './communication.js';
import { OVERLAP_SLOWDOWN } from './data-parallel-time.js';
import type { Gpu } from './hardware.js';
import type { ParallelPlan } from './plan.js';

/**
 * Share of a node's DRAM bandwidth a CPU Adam step streams at: a two-socket server's STREAM triad reaches about
 * 70% of its peak, and Adam's seven streams per parameter across both sockets' memory somewhat less; an assumption,
 * not fitted to a run.
 */
export const HOST_STREAM_EFFICIENCY = 0.5;
/** Bytes a CPU Adam step moves per parameter: reads fp32 master, two moments and the 16-bit gradient, writes them back and the 16-bit weight. */
const CPU_ADAM_BYTES = 4 + 4 + 4 + 2 + 4 + 4 + 4 + 2;

export interface OffloadInputs {
  readonly gpu: Gpu;
  readonly parallel: ParallelPlan;
  readonly microbatches: number;
  /** Parameters this GPU updates (its ZeRO shard) and GPUs of the node doing the same at once. */
  readonly shardParameters: number;
  readonly gpusPerNode: number;
  /** Parameters this GPU holds before sharding (what ZeRO-3 fetches per pass, in shards). */
  readonly parameters: number;
  /** This GPU's ZeRO-3 shard of them. */
  readonly parameterShard: number;
  /** Seconds of one micro-batch's forward and backward on this GPU: the windows PCIe copies hide behind. */
  readonly forwardPerMicrobatch: number;
  readonly backwardPerMicrobatch: number;
}

/**
 * Seconds offloading adds to a step on one GPU: the 16-bit gradients of its shard down PCIe behind the last backward,
 * Adam on the node's CPUs over every shard of the node (exposed: the GPU waits for the new weights), the updated
 * 16-bit shard back up PCIe; with the parameters offloaded, each micro-batch's forward and backward fetch the weights'
 * shard up PCIe again before ZeRO-3 gathers them, behind the compute where they fit. What overlaps costs the overlap
 * slowdown, as data-parallel traffic does.
 */
export function offloadSeconds(inputs: OffloadInputs): number {
  const offload = inputs.parallel.offload ?? 'none';
  if (offload === 'none') return 0;
  const pcie = (bytes: number): number => bytes / (inputs.gpu.pcieBandwidth * LINK_EFFICIENCY);
  let exposed = 0;
  let overlapped = 0;
  const behind = (seconds: number, window: number, times: number): void => {
    exposed += times * Math.max(0, seconds - window);
    overlapped += times * Math.min(seconds, window);
  };
  behind(pcie(2 * inputs.shardParameters), inputs.backwardPerMicrobatch, 1);
  exposed += (inputs.gpusPerNode * inputs.shardParameters * CPU_ADAM_BYTES) / (inputs.gpu.hostMemoryBandwidth * HOST_STREAM_EFFICIENCY);
  exposed += pcie(2 * inputs.shardParameters);
  if (offload === 'optimizer-and-parameters') {
    const fetch = pcie(2 * inputs.parameterShard);
    behind(fetch, inputs.forwardPerMicrobatch, inputs.microbatches);
    behind(fetch, inputs.backwardPerMicrobatch, inputs.microbatches);
  }
  return exposed + OVERLAP_SLOWDOWN * overlapped;
}
