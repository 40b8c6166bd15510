import { allReduceSeconds, type GroupPlacement } from './communication.js';
import type { Gpu } from './hardware.js';
import type { ParallelPlan } from './plan.js';

/**
 * An overlapped collective is not free: while it runs, NCCL's channels hold SMs, its traffic competes with the
 * memory-bound kernels for HBM, and ZeRO/FSDP copy their flat buffers in and out around it. The one constant for
 * this, half the collective's duration, is set by the published runs that overlap data-parallel communication
 * (FSDP and ZeRO runs of MosaicML, OPT and Llama 3 in test/planner/published-more.json).
 */
export const OVERLAP_SLOWDOWN = 0.5;

/** Parameters one GPU holds (before ZeRO sharding) that the GPUs of `group` hold too and reduce together. */
export interface ReplicatedParameters {
  readonly parameters: number;
  readonly group: GroupPlacement;
}

export interface DataParallelInputs {
  readonly gpu: Gpu;
  readonly parallel: ParallelPlan;
  readonly microbatches: number;
  /** The dense parameters over the d·c replicas, the routed experts over d·c/e. */
  readonly replicated: readonly ReplicatedParameters[];
  readonly gradientBytes: number;
  /** Seconds of one micro-batch's forward, and of its backward with recomputation, on that GPU. */
  readonly forwardPerMicrobatch: number;
  readonly backwardPerMicrobatch: number;
}

/**
 * Data-parallel communication per step, exposed time plus the slowdown of what overlaps. ZeRO-0 all-reduces the
 * gradients once per step and ZeRO-1 reduce-scatters them, behind the last backward when overlapped; ZeRO-2 and 3
 * reduce-scatter every micro-batch (the full gradient is never kept) behind that micro-batch's backward. ZeRO-1 and 2
 * all-gather the updated 16-bit weights once per step, behind the next step's first forward when overlapped
 * (Megatron's --overlap-param-gather, FSDP's prefetch), else after the optimizer. ZeRO-3 gathers the weights for
 * every forward (behind it) and again for every backward, where gather and reduce-scatter share the link.
 */
export function dataParallelSeconds(inputs: DataParallelInputs): number {
  const { gpu, parallel, microbatches: m } = inputs;
  let allReduce = 0;
  let gatherWeights = 0;
  for (const { parameters, group } of inputs.replicated) {
    allReduce += allReduceSeconds(gpu, parameters * inputs.gradientBytes, group);
    gatherWeights += allReduceSeconds(gpu, 2 * parameters, group) / 2; // an all-gather is half an all-reduce
  }
  const reduceScatter = allReduce / 2;
  let exposed = 0;
  let overlapped = 0;
  const behind = (seconds: number, window: number, times: number): void => {
    exposed += times * Math.max(0, seconds - window);
    overlapped += times * Math.min(seconds, window);
  };
  const forwardWindow = parallel.overlapGradReduce ? inputs.forwardPerMicrobatch : 0;
  const backwardWindow = parallel.overlapGradReduce ? inputs.backwardPerMicrobatch : 0;
  if (parallel.zero === 0) behind(allReduce, backwardWindow, 1);
  else if (parallel.zero === 1) behind(reduceScatter, backwardWindow, 1);
  else if (parallel.zero === 2) behind(reduceScatter, backwardWindow, m);
  if (parallel.zero === 1 || parallel.zero === 2) behind(gatherWeights, forwardWindow, 1);
  if (parallel.zero === 3) {
    behind(gatherWeights, forwardWindow, m);
    behind(gatherWeights + reduceScatter, backwardWindow, m);
  }
  return exposed + OVERLAP_SLOWDOWN * overlapped;
}
