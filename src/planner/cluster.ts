import { z } from 'zod';
import { UsageError } from '../errors.js';
import { quote } from '../quote.js';
import { describeZodError } from '../zod-message.js';
import { findGpu, type Gpu } from './hardware.js';

/** GPUs of one kind that sit together: nodes joined by their own network. */
export interface GpuGroup {
  readonly name: string;
  /** The group's GPU, with the group's GPUs per node. */
  readonly gpu: Gpu;
  readonly gpus: number;
}

/** Two or more groups of GPUs joined by one link, such as two clusters in different halls or of different generations. */
export interface Cluster {
  readonly groups: readonly GpuGroup[];
  /** The link between groups, bytes/s per direction, shared by every transfer that crosses it at once. */
  readonly interGroupBandwidth: number;
  /** Latency of one message over that link, seconds. */
  readonly interGroupLatency: number;
}

/** A cluster of GPU groups as a `--cluster` file (and an estimate config's `cluster`) writes it. */
export const clusterSchema = z.strictObject({
  groups: z.array(z.strictObject({
    name: z.string().min(1).optional(),
    gpu: z.string().min(1),
    gpus: z.number().int().positive(),
    /** Nodes the group's GPUs sit in; the GPU's catalogue figure per node when absent. */
    nodes: z.number().int().positive().optional(),
  })).min(1),
  /** The link between groups in GB/s per direction (100 Gb/s is 12.5). */
  interGroupBandwidthGBs: z.number().positive().max(1e6),
  interGroupLatencyUs: z.number().nonnegative().max(1e7).default(50),
});

/** Parses the JSON of a `--cluster` file; GPUs come from the catalogue and `extraGpus` (a hardware file). */
export function parseCluster(json: unknown, source: string, extraGpus: readonly Gpu[] = []): Cluster {
  const parsed = clusterSchema.safeParse(json);
  if (!parsed.success) {
    throw new UsageError(
      `cluster file ${source}: ${describeZodError(parsed.error, json, clusterSchema)}` +
        '; a cluster file is { "groups": [{ "gpu", "gpus", "nodes"? }], "interGroupBandwidthGBs", "interGroupLatencyUs"? }',
    );
  }
  const names = new Set<string>();
  const groups = parsed.data.groups.map((group, index) => {
    const name = group.name ?? `group ${index}`;
    if (names.has(name)) throw new UsageError(`cluster file ${source}: two groups are named ${quote(name)}; name them apart`);
    names.add(name);
    const gpu = findGpu(group.gpu, extraGpus);
    // GPUs per node: as the file says, else the catalogue's (a group smaller than a node is one node).
    const perNode = group.nodes !== undefined ? group.gpus / group.nodes : Math.min(gpu.gpusPerNode, group.gpus);
    if (!Number.isInteger(perNode) || group.gpus % perNode !== 0) {
      throw new UsageError(
        `cluster file ${source}: group ${quote(name)} has ${group.gpus} GPUs, not a whole number per node` +
          (group.nodes === undefined ? ` of ${gpu.gpusPerNode} (${gpu.id}); give "nodes"` : ` over ${group.nodes} nodes`),
      );
    }
    return { name, gpu: { ...gpu, gpusPerNode: perNode }, gpus: group.gpus };
  });
  return { groups, interGroupBandwidth: parsed.data.interGroupBandwidthGBs * 1e9, interGroupLatency: parsed.data.interGroupLatencyUs * 1e-6 };
}

/** The cluster written back in the file's shape. */
export function clusterJson(cluster: Cluster): z.infer<typeof clusterSchema> {
  return {
    groups: cluster.groups.map((group) => ({ name: group.name, gpu: group.gpu.id, gpus: group.gpus, nodes: group.gpus / group.gpu.gpusPerNode })),
    interGroupBandwidthGBs: cluster.interGroupBandwidth / 1e9,
    interGroupLatencyUs: cluster.interGroupLatency * 1e6,
  };
}

/** Every GPU of the cluster. */
export const clusterGpus = (cluster: Cluster): number => cluster.groups.reduce((sum, group) => sum + group.gpus, 0);

/**
 * Layers per pipeline rank so that the slowest rank is as fast as it can be: `seconds[r]` is one layer's time per
 * micro-batch on rank r and `extra[r]` the rank's other work (embedding, output layer); every rank gets one layer, and
 * each further layer goes to the rank it slows least (the greedy choice is optimal for this min-max split).
 */
export function balancedSplit(layers: number, seconds: readonly number[], extra: readonly number[]): number[] {
  const split = seconds.map(() => 1);
  for (let given = seconds.length; given < layers; given++) {
    let best = 0;
    for (let rank = 1; rank < seconds.length; rank++) {
      if ((split[rank]! + 1) * seconds[rank]! + extra[rank]! < (split[best]! + 1) * seconds[best]! + extra[best]!) best = rank;
    }
    split[best]!++;
  }
  return split;
}
