import { allReduceSeconds, placeGroup } from './communication.js';
import { OVERLAP_SLOWDOWN } from './data-parallel-time.js';
import type { Gpu } from './hardware.js';
import { routedTokensPerGpu, tokensPerGpu, type LayerSettings, type LayerTimes } from './layer-time.js';
import { moeOf, type LayerKind, type ModelShape } from './model.js';

/**
 * Seconds of one layer's tensor-parallel collectives for one micro-batch on one GPU: per pass (forward, backward, and
 * a recomputed forward) one all-reduce of the activations after the attention and one after the MLP (Shoeybi et al.
 * 2019), or with sequence parallelism the reduce-scatter/all-gather pairs of the same volume (Korthikanti et al. 2022).
 * A MoE layer's MLP collective carries every routed copy of the tokens (expert tensor parallelism = t), and the tokens
 * once more for shared experts; with expert tensor parallelism below t the routed copies are gathered over etp
 * GPUs only (none at etp = 1). With `tpCommOverlap` each pass's collectives run in chunks under its GEMMs: what the
 * GEMMs cannot cover is exposed, and what they cover still costs the overlap slowdown.
 */
export function tensorParallelSeconds(gpu: Gpu, model: ModelShape, settings: LayerSettings, layer: LayerTimes, kind: LayerKind): number {
  const moe = moeOf(model);
  const activations = 2 * tokensPerGpu(model, settings) * model.hidden;
  const tensorGroup = placeGroup(gpu, settings.tp, 1);
  const collective = (bytes: number): number => allReduceSeconds(gpu, bytes, tensorGroup);
  let perPass = collective(activations); // after the attention
  if (kind === 'moe' && moe !== undefined) {
    if (moe.sharedExperts > 0) perPass += collective(activations);
    // The etp GPUs sharing each expert's width gather its routed copies and reduce-scatter the results.
    const routed = 2 * model.hidden * routedTokensPerGpu(model, moe, settings);
    perPass += allReduceSeconds(gpu, routed, placeGroup(gpu, settings.etp, 1));
  } else {
    perPass += collective(activations); // after the MLP
  }
  if (perPass === 0) return 0;
  const passes: number[] = [layer.gemmForward, layer.gemmBackward];
  if (settings.recompute === 'full') passes.push(layer.gemmForward);
  if (!settings.tpCommOverlap) return passes.length * perPass;
  let seconds = 0;
  for (const gemms of passes) seconds += Math.max(0, perPass - gemms) + OVERLAP_SLOWDOWN * Math.min(perPass, gemms);
  return seconds;
}
