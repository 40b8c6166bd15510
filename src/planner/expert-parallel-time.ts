import { LINK_EFFICIENCY, STEP_LATENCY_S, allToAllSeconds, placeGroup, type GroupPlacement } from './communication.js';
import type { Gpu } from './hardware.js';
import { EXPERT_LOAD_FACTOR, routingTokensPerGpu, type LayerSettings } from './layer-time.js';
import type { MoeShape, ModelShape } from './model.js';
import type { MoeDispatcher } from './plan.js';

/**
 * Expected number of the other nodes of an expert-parallel group that hold at least one of a token's k experts, when
 * the router picks k distinct experts of E spread evenly over the group's N nodes: each other node misses all k with
 * probability C(E − E/N, k) / C(E, k).
 */
export function remoteNodesPerToken(experts: number, expertsPerToken: number, nodes: number): number {
  if (nodes <= 1) return 0;
  let miss = 1;
  for (let i = 0; i < expertsPerToken; i++) miss *= Math.max(0, experts - experts / nodes - i) / (experts - i);
  return (nodes - 1) * (1 - miss);
}

/**
 * One dispatch (or combine) that sends each token once per other node that holds one of its experts and forwards it
 * inside the node over NVLink (DeepEP's internode kernels, Megatron's flex dispatcher): `tokens` tokens of `tokenBytes`.
 */
function deduplicatedSeconds(gpu: Gpu, moe: MoeShape, tokens: number, tokenBytes: number, group: GroupPlacement): number {
  const copies = moe.expertsPerToken * EXPERT_LOAD_FACTOR;
  const inter = (tokens * tokenBytes * EXPERT_LOAD_FACTOR * remoteNodesPerToken(moe.experts, moe.expertsPerToken, group.nodes)) /
    (gpu.interNodeBandwidth * LINK_EFFICIENCY);
  const intra = (tokens * tokenBytes * copies * (1 - 1 / group.size)) / (gpu.intraNodeBandwidth * LINK_EFFICIENCY);
  return Math.max(inter, intra) + (group.nodes > 1 ? STEP_LATENCY_S.interNode : STEP_LATENCY_S.intraNode);
}

/**
 * Seconds of one MoE layer's token dispatch and combine for one micro-batch on one GPU: both in the forward, both
 * again in the backward (and in a recomputed forward), over the e groups of etp GPUs that split the experts. Each GPU
 * sends its sequence-parallel share of the tokens, one copy per routed expert with NCCL's all-to-all, or one copy per
 * destination node with a deduplicating dispatcher; the busiest receiver gets the load factor times the mean. Not
 * overlapped with compute.
 */
export function expertParallelSeconds(
  gpu: Gpu, model: ModelShape, moe: MoeShape, settings: LayerSettings, dispatcher: MoeDispatcher = 'all-to-all',
): number {
  if (settings.ep <= 1) return 0;
  const tokens = routingTokensPerGpu(model, settings);
  const tokenBytes = 2 * model.hidden;
  const group = placeGroup(gpu, settings.ep, settings.etp);
  const once = dispatcher === 'deepep'
    ? deduplicatedSeconds(gpu, moe, tokens, tokenBytes, group)
    : allToAllSeconds(gpu, tokens * tokenBytes * moe.expertsPerToken * EXPERT_LOAD_FACTOR, group);
  const passes = settings.recompute === 'full' ? 3 : 2;
  return passes * 2 * once;
}
