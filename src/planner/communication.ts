import type { Gpu } from './hardware.js';

/** Share of a link's bandwidth a large NCCL collective reaches (its "bus bandwidth" over the wire rate). */
export const LINK_EFFICIENCY = 0.8;
/** Latency of one step of a ring collective or one point-to-point message, seconds. */
export const STEP_LATENCY_S = { intraNode: 8e-6, interNode: 15e-6 } as const;

/**
 * Where a group of ranks sits: `perNode` members share a node (talk over NVLink), the group spans `nodes` nodes.
 * Megatron's rank order puts tensor-parallel ranks innermost, then data-parallel, then pipeline.
 */
export interface GroupPlacement {
  readonly size: number;
  readonly perNode: number;
  readonly nodes: number;
}

/** Placement of a group whose consecutive members are `stride` ranks apart. */
export function placeGroup(gpu: Gpu, size: number, stride: number): GroupPlacement {
  const perNode = Math.max(1, Math.min(size, Math.floor(gpu.gpusPerNode / stride)));
  return { size, perNode, nodes: Math.ceil(size / perNode) };
}

/**
 * Seconds to all-reduce `bytes` per rank: a ring inside each node over NVLink (reduce-scatter then all-gather),
 * and across nodes a ring over each GPU's own NIC carrying 1/perNode of the data — NCCL's hierarchical pattern.
 * Reduce-scatter or all-gather alone is half of it.
 */
export function allReduceSeconds(gpu: Gpu, bytes: number, group: GroupPlacement): number {
  if (group.size <= 1 || bytes === 0) return 0;
  const intra = group.perNode > 1
    ? (2 * (group.perNode - 1) / group.perNode) * bytes / (gpu.intraNodeBandwidth * LINK_EFFICIENCY) +
      2 * (group.perNode - 1) * STEP_LATENCY_S.intraNode
    : 0;
  const inter = group.nodes > 1
    ? (2 * (group.nodes - 1) / group.nodes) * (bytes / group.perNode) / (gpu.interNodeBandwidth * LINK_EFFICIENCY) +
      2 * (group.nodes - 1) * STEP_LATENCY_S.interNode
    : 0;
  return intra + inter;
}

/** Seconds to send `bytes` to a neighbouring pipeline rank, over NVLink or the network. */
export function sendSeconds(gpu: Gpu, bytes: number, crossesNodes: boolean): number {
  if (bytes === 0) return 0;
  return crossesNodes
    ? bytes / (gpu.interNodeBandwidth * LINK_EFFICIENCY) + STEP_LATENCY_S.interNode
    : bytes / (gpu.intraNodeBandwidth * LINK_EFFICIENCY) + STEP_LATENCY_S.intraNode;
}

/**
 * Seconds for an all-to-all in which each rank holds `bytes` and keeps 1/size of them: NCCL runs it as concurrent
 * sends to every peer, the peers in the node over NVLink and the others over this GPU's NIC, so the slower of the two
 * shares sets the time.
 */
export function allToAllSeconds(gpu: Gpu, bytes: number, group: GroupPlacement): number {
  if (group.size <= 1 || bytes === 0) return 0;
  const intra = ((group.perNode - 1) / group.size) * bytes / (gpu.intraNodeBandwidth * LINK_EFFICIENCY);
  const inter = ((group.size - group.perNode) / group.size) * bytes / (gpu.interNodeBandwidth * LINK_EFFICIENCY);
  const latency = group.nodes > 1 ? STEP_LATENCY_S.interNode : STEP_LATENCY_S.intraNode;
  return Math.max(intra, inter) + latency;
}
