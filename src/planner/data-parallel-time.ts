import { allReduceSeconds, placeGroup } from './communication.js';
import type { Gpu } from './hardware.js';
import type { ParallelPlan } from './plan.js';

/**
 * While a collective overlaps compute, its NCCL channels hold SMs (about 16 of 108–132) and the compute beside it
 * slows by that share: overlapped communication is cheap, not free.
 */
export const OVERLAP_SLOWDOWN = 0.15;

export interface DataParallelInputs {
  readonly gpu: Gpu;
  readonly parallel: ParallelPlan;
  readonly microbatches: number;
  /** Parameters held by the busiest GPU (before ZeRO sharding). */
  readonly parameters: number;
  readonly gradientBytes: number;
  /** Seconds of one micro-batch's backward (with recomputation) and of its whole forward+backward on that GPU. */
  readonly backwardPerMicrobatch: number;
  readonly computePerMicrobatch: number;
}

/**
 * Data-parallel communication per step, exposed time plus the slowdown of what overlaps. ZeRO-0 all-reduces the
 * gradients once per step and ZeRO-1 reduce-scatters them, both hidden behind the last backward when overlapped;
 * ZeRO-2 and 3 reduce-scatter every micro-batch (the full gradient is never kept) behind that micro-batch's
 * backward; ZeRO-1 and 2 all-gather the updated 16-bit weights after the optimizer; ZeRO-3 gathers the weights
 * for every forward and every backward instead, behind the compute.
 */
export function dataParallelSeconds(inputs: DataParallelInputs): number {
  const { gpu, parallel, microbatches: m } = inputs;
  const group = placeGroup(gpu, parallel.dp, parallel.tp);
  const allReduce = allReduceSeconds(gpu, inputs.parameters * inputs.gradientBytes, group);
  const gatherWeights = allReduceSeconds(gpu, 2 * inputs.parameters, group) / 2; // an all-gather is half an all-reduce
  let exposed = 0;
  let overlapped = 0;
  const behind = (seconds: number, window: number, times: number): void => {
    exposed += times * Math.max(0, seconds - window);
    overlapped += times * Math.min(seconds, window);
  };
  const gradientWindow = parallel.overlapGradReduce ? inputs.backwardPerMicrobatch : 0;
  if (parallel.zero <= 1) behind(parallel.zero === 0 ? allReduce : allReduce / 2, gradientWindow, 1);
  else behind(allReduce / 2, gradientWindow, m);
  if (parallel.zero === 1 || parallel.zero === 2) exposed += gatherWeights;
  if (parallel.zero === 3) behind(2 * gatherWeights, inputs.computePerMicrobatch, m);
  return exposed + OVERLAP_SLOWDOWN * overlapped;
}
