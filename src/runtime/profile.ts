/**
 * Measured cost of each pipeline unit (forward + backward of one micro-batch), for balancing stages; run on
 * the ranks themselves, so a stage is balanced by the speed of the machine that will run it. All blocks
 * share one shape, so one block is timed and its cost stands for each of them; the embedding and the head
 * are timed on their own.
 */
import { buildSegment, unitCount, type GPTConfig } from '../nn/index.js';

const repeats = 3;

/** Median seconds of F + B of one micro-batch per unit kind. */
export interface UnitKindCosts {
  readonly embedding: number;
  readonly block: number;
  readonly head: number;
}

/** Median seconds of F + B for the units [first, last) on a micro-batch of [B, T] tokens. */
function timeSegment(config: GPTConfig, units: readonly [number, number], B: number, T: number): number {
  const segment = buildSegment(config, 0, units);
  const N = B * T;
  const tokens = Int32Array.from({ length: N }, (_, i) => i % config.vocabSize); // [B, T]
  const input = new Float32Array(N * config.embd).fill(0.01); // [B, T, C]
  const gradient = new Float32Array(N * config.embd).fill(0.01); // [B, T, C]
  const batch = { B, T, tokens, targets: tokens };
  const times: number[] = [];
  for (let run = 0; run <= repeats; run++) {
    const start = performance.now();
    segment.forward(0, batch, segment.takesTokens ? null : input);
    segment.backward(0, segment.computesLoss ? 1 : gradient);
    if (run > 0) times.push((performance.now() - start) / 1000); // run 0 warms up
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export function profileUnitKinds(config: GPTConfig, B: number, T: number): UnitKindCosts {
  const count = unitCount(config);
  return { embedding: timeSegment(config, [0, 1], B, T), block: timeSegment(config, [1, 2], B, T), head: timeSegment(config, [count - 1, count], B, T) };
}

/** Seconds of F + B per unit: [embedding, h.0 … h.L-1, head]. */
export function unitCosts(config: GPTConfig, kinds: UnitKindCosts): number[] {
  const count = unitCount(config);
  return Array.from({ length: count }, (_, unit) => (unit === 0 ? kinds.embedding : unit === count - 1 ? kinds.head : kinds.block));
}
