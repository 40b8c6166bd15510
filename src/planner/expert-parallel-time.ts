import { allToAllSeconds, placeGroup } from './communication.js';
import type { Gpu } from './hardware.js';
import { EXPERT_LOAD_FACTOR, tokensPerGpu, type LayerSettings } from './layer-time.js';
import type { MoeShape, ModelShape } from './model.js';

/**
 * Seconds of one MoE layer's token all-to-alls for one micro-batch on one GPU: dispatch to the experts and combine
 * back in the forward, the same two in the backward (and again in a recomputed forward), over the e ranks `tp`
 * apart that split the experts. Each GPU sends its sequence-parallel share of the tokens, one copy per routed
 * expert; the busiest receiver gets the load factor times the mean. Not overlapped with compute.
 */
export function expertParallelSeconds(gpu: Gpu, model: ModelShape, moe: MoeShape, settings: LayerSettings): number {
  if (settings.ep <= 1) return 0;
  const tokens = tokensPerGpu(model, settings) / (settings.sequenceParallel ? settings.tp : 1);
  const bytes = 2 * tokens * moe.expertsPerToken * model.hidden * EXPERT_LOAD_FACTOR;
  const passes = settings.recompute === 'full' ? 3 : 2;
  return passes * 2 * allToAllSeconds(gpu, bytes, placeGroup(gpu, settings.ep, settings.tp));
}
