import { allToAllSeconds, placeGroup, sendSeconds } from './communication.js';
import { OVERLAP_SLOWDOWN } from './data-parallel-time.js';
import type { Gpu } from './hardware.js';
import { tokensPerGpu, type LayerSettings, type LayerTimes } from './layer-time.js';
import { attentionWidth, headDim, qkvWidth, type ModelShape } from './model.js';
import type { ContextParallelCommunication } from './plan.js';

/**
 * Seconds context parallelism adds to one layer for one micro-batch on one GPU (exposed time plus the slowdown of
 * what overlaps), over the c ranks `tp` apart that share each sequence.
 *
 * Ring (Megatron's p2p, ring attention of Liu et al. 2023): the attention runs in c blocks; while one block computes,
 * the next rank's keys and values arrive, so each of the c−1 exchanges hides behind one block of attention. The
 * backward passes keys and values and their gradients the same way. All-to-all (DeepSpeed-Ulysses, Jacobs et al.
 * 2023; Megatron's a2a): Q, K and V are redistributed from sequence slices to head slices before the attention and
 * the output back after it, not overlapped.
 */
export function contextParallelSeconds(
  gpu: Gpu, model: ModelShape, settings: LayerSettings, layer: LayerTimes, communication: ContextParallelCommunication,
): number {
  const cp = settings.cp;
  if (cp <= 1) return 0;
  const tokens = tokensPerGpu(model, settings);
  const group = placeGroup(gpu, cp, settings.tp);
  const forwardPasses = settings.recompute === 'full' ? 2 : 1;
  if (communication === 'all-to-all') {
    const qkv = allToAllSeconds(gpu, (2 * tokens * qkvWidth(model)) / settings.tp, group);
    const output = allToAllSeconds(gpu, (2 * tokens * attentionWidth(model)) / settings.tp, group);
    return (forwardPasses + 1) * (qkv + output); // the backward moves the gradients of the same tensors back
  }
  const keysAndValues = (2 * 2 * tokens * model.kvHeads * headDim(model)) / settings.tp; // K and V, 16-bit
  const crossesNodes = group.nodes > 1; // the ring is as fast as its slowest hop
  let exposed = 0;
  let overlapped = 0;
  const ring = (bytes: number, attention: number, times: number): void => {
    const exchange = sendSeconds(gpu, bytes, crossesNodes);
    const block = attention / cp;
    exposed += times * (cp - 1) * Math.max(0, exchange - block);
    overlapped += times * (cp - 1) * Math.min(exchange, block);
  };
  ring(keysAndValues, layer.attentionForward, forwardPasses);
  ring(2 * keysAndValues, layer.attentionBackward, 1); // keys and values again, and their gradients
  return exposed + OVERLAP_SLOWDOWN * overlapped;
}
