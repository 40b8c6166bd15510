import type { Cluster } from './cluster.js';
import type { Gpu, Precision } from './hardware.js';
import type { ModelShape } from './model.js';

export type Recompute = 'none' | 'selective' | 'full';
export type ZeroStage = 0 | 1 | 2 | 3;
export type ContextParallelCommunication = 'ring' | 'all-to-all';
/** Adam with fp32 moments (12 bytes per parameter with the fp32 master weights) or 8-bit moments (6 bytes). */
export type OptimizerKind = 'adam' | 'adam-8bit';
/** What lives in host memory: nothing, the optimizer (ZeRO-Offload), or the optimizer and the weights (ZeRO-3 offload). */
export type Offload = 'none' | 'optimizer' | 'optimizer-and-parameters';
/** How MoE tokens reach their experts: NCCL all-to-all (a copy per expert) or a node-deduplicating dispatcher (DeepEP). */
export type MoeDispatcher = 'all-to-all' | 'deepep';

/** How one run is cut up: the knobs the search turns and `estimate` evaluates. */
export interface ParallelPlan {
  /** Tensor-parallel degree t. */
  readonly tp: number;
  /** Pipeline-parallel degree p (ranks in a pipeline). */
  readonly pp: number;
  /** Data-parallel degree d; gpus = t·p·c·d. */
  readonly dp: number;
  /** Context-parallel degree c: each sequence split over c GPUs along its length (1 when absent). */
  readonly cp?: number;
  /** How context parallelism exchanges keys and values: a ring of K/V blocks behind the attention, or all-to-alls
   * of Q, K, V and the output (DeepSpeed-Ulysses, Megatron's a2a); ring when absent. */
  readonly cpCommunication?: ContextParallelCommunication;
  /** Expert-parallel degree e: a MoE layer's experts divided over e groups of etp GPUs (1 when absent). */
  readonly ep?: number;
  /** Expert tensor-parallel degree: each routed expert's width split over etp GPUs (Megatron's
   * --expert-tensor-parallel-size, "MoE parallel folding"); t when absent. The expert grid etp × ep × expert-data
   * folds over the same t·c·d GPUs of a stage as the attention's t × c × d. */
  readonly etp?: number;
  /** The MoE token dispatcher: 'all-to-all' (NCCL, a copy per routed expert; the default) or 'deepep' (one copy per
   * destination node, forwarded over NVLink inside it: DeepEP, Megatron's flex dispatcher). */
  readonly moeDispatcher?: MoeDispatcher;
  readonly microBatchSize: number;
  /** Sequences per optimizer step across the whole cluster. */
  readonly globalBatchSize: number;
  /** Layers on each pipeline rank, [pp]; Megatron's split (ceil(L/p) on each, the rest on the last) when absent. */
  readonly layersPerStage?: readonly number[];
  /** On a cluster of several GPU groups: the group each pipeline rank's t·c·d GPUs sit in, [pp], in group order. */
  readonly stageGroups?: readonly number[];
  /** Model chunks per pipeline rank v (interleaving); 1 for plain schedules. */
  readonly virtualStages: number;
  /** A schedule name of the schedule engine (e.g. 1f1b, gpipe, interleaved-1f1b). */
  readonly schedule: string;
  readonly recompute: Recompute;
  readonly sequenceParallel: boolean;
  readonly zero: ZeroStage;
  /** Fused attention kernels that never store the s×s score matrix. */
  readonly flashAttention: boolean;
  /** Data-parallel gradient reduction issued in buckets during the last backward. */
  readonly overlapGradReduce: boolean;
  /** Tensor-parallel collectives run in chunks under the GEMMs (Megatron's --tp-comm-overlap); off when absent. */
  readonly tpCommOverlap?: boolean;
  /** Adam's state: fp32 moments ('adam', the default) or 8-bit block-quantised moments ('adam-8bit', Dettmers et al. 2022). */
  readonly optimizer?: OptimizerKind;
  /** State kept in host memory and moved over PCIe ('none' when absent): ZeRO-Offload (Ren et al. 2021) runs Adam on the
   * CPU; 'optimizer-and-parameters' also keeps the 16-bit weights there and fetches each layer's shard per pass (ZeRO-3). */
  readonly offload?: Offload;
}

/** Everything one estimate needs. */
export interface Job {
  readonly model: ModelShape;
  readonly gpu: Gpu;
  readonly gpus: number;
  readonly parallel: ParallelPlan;
  readonly precision: Precision;
  /** Gradients kept (and reduced) in fp32 instead of 16-bit: 18 instead of 16 bytes per parameter. */
  readonly fp32Gradients: boolean;
  /** Several groups of GPUs joined by a link; `gpu` is then the first group's, and the plan's stageGroups place the stages. */
  readonly cluster?: Cluster;
}

/** The GPU each pipeline rank runs on, [pp]: the job's, or on a cluster of groups its stage's group's. */
export function rankGpus(job: Job): Gpu[] {
  const { cluster, parallel } = job;
  if (cluster === undefined || parallel.stageGroups === undefined) return Array.from({ length: parallel.pp }, () => job.gpu);
  return parallel.stageGroups.map((group) => cluster.groups[group]!.gpu);
}

/** The context-parallel degree (1 when the plan does not set it). */
export const contextParallelDegree = (parallel: ParallelPlan): number => parallel.cp ?? 1;
/** The expert-parallel degree (1 when the plan does not set it). */
export const expertParallelDegree = (parallel: ParallelPlan): number => parallel.ep ?? 1;

/** The expert tensor-parallel degree (t when the plan does not set it). */
export const expertTensorDegree = (parallel: ParallelPlan): number => parallel.etp ?? parallel.tp;

/** Micro-batches each pipeline processes per step. */
export const microbatchesPerStep = (parallel: ParallelPlan): number =>
  parallel.globalBatchSize / (parallel.dp * parallel.microBatchSize);
