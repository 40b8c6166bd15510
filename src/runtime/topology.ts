/**
 * Where a global rank sits in a job of D replicas of a P-rank pipeline: replica-major, so each replica's
 * pipeline ranks are consecutive global ranks (a launcher puts neighbours, the busiest pairs, on one node).
 */
export interface Topology {
  /** Pipeline ranks in one replica (P, `--stages`). */
  readonly pipelineRanks: number;
  /** Data-parallel replicas (D, `--replicas`). */
  readonly replicas: number;
}

export function worldSize(topology: Topology): number {
  return topology.pipelineRanks * topology.replicas;
}

export function globalRank(topology: Topology, replica: number, pipelineRank: number): number {
  return replica * topology.pipelineRanks + pipelineRank;
}

export function replicaOf(topology: Topology, rank: number): number {
  return Math.floor(rank / topology.pipelineRanks);
}

export function pipelineRankOf(topology: Topology, rank: number): number {
  return rank % topology.pipelineRanks;
}
