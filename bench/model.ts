/**
 * Training throughput of the reference GPT (4 layers, C=256, 4 heads, T=128, batch 16, V=65) on one thread:
 * forward + backward tokens/s for the whole batch as one micro-batch and as 4, then the time of F, I and W
 * per unit and what each unit stashes per in-flight micro-batch.
 * Usage: node dist/bench/model.js [--steps N] [--batch B]
 */
import { buildSegment } from '../src/nn/segment.js';
import type { GPTConfig } from '../src/nn/parameter.js';
import type { MicroBatch, Unit } from '../src/nn/units/unit.js';
import { zeroGradients } from '../src/nn/gradients.js';

const config: GPTConfig = { vocabSize: 65, blockSize: 128, layers: 4, embd: 256, heads: 4, tied: true };

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? fallback : Number(process.argv[index + 1]);
}

const steps = flag('steps', 3);
const batchSize = flag('batch', 16);
const T = config.blockSize;

/** Deterministic tokens; the figures do not depend on the data. */
function batchOf(B: number, offset: number): Required<MicroBatch> {
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) {
    tokens[i] = (i * 7 + offset) % config.vocabSize;
    targets[i] = (i * 11 + offset + 3) % config.vocabSize;
  }
  return { B, T, tokens, targets };
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Model FLOPs per token for forward + backward (6 per weight in the matmuls, plus attention as computed, full T×T). */
function flopsPerToken(): number {
  const C = config.embd;
  const matmulWeights = config.layers * 12 * C * C + config.vocabSize * C;
  const attention = config.layers * 2 * 2 * T * C; // QKᵀ and AV forward, per token
  return 6 * matmulWeights + 3 * attention;
}

const segment = buildSegment(config, 1);

function throughput(microbatches: number): void {
  const B = batchSize / microbatches;
  const parts = Array.from({ length: microbatches }, (_, m) => batchOf(B, m));
  const step = () => {
    zeroGradients(segment.parameters);
    parts.forEach((batch, slot) => {
      segment.forward(slot, batch);
      segment.backward(slot, 1 / microbatches);
    });
  };
  step(); // warm-up: JIT and buffer allocation
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const start = process.hrtime.bigint();
    step();
    times.push(seconds(start));
  }
  const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  const tokens = batchSize * T;
  console.log(
    `batch ${batchSize} as ${microbatches} micro-batch(es) of ${B}: step ${median.toFixed(3)} s (median of ${steps}), ` +
      `${(tokens / median).toFixed(0)} tokens/s, ${((tokens * flopsPerToken()) / median / 1e9).toFixed(1)} GFLOP/s model`,
  );
}

function perUnit(B: number): void {
  const batch = batchOf(B, 0);
  const units: readonly Unit[] = segment.units;
  const timings = units.map(() => ({ F: 0, I: 0, W: 0 }));
  for (let round = 0; round <= steps; round++) {
    let x: Float32Array | number | null = null;
    units.forEach((unit, u) => {
      const start = process.hrtime.bigint();
      x = unit.forward(0, batch, x as Float32Array | null);
      if (round > 0) timings[u]!.F += seconds(start);
      if (x instanceof Float32Array) x = x.slice(); // as a stage boundary would
    });
    let gradient: Float32Array | number | null = 1;
    for (let u = units.length - 1; u >= 0; u--) {
      let start = process.hrtime.bigint();
      gradient = units[u]!.backwardInput(0, gradient!);
      if (round > 0) timings[u]!.I += seconds(start);
      if (gradient instanceof Float32Array) gradient = gradient.slice();
      start = process.hrtime.bigint();
      units[u]!.backwardWeight(0);
      if (round > 0) timings[u]!.W += seconds(start);
    }
  }
  console.log(`\nper unit, micro-batch [${B}, ${T}], ms (mean of ${steps}); stash per in-flight micro-batch, MiB`);
  console.log('unit        F        I        W     F->I    I->W');
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(2).padStart(8);
  units.forEach((unit, u) => {
    const t = timings[u]!;
    const ms = (value: number) => ((value / steps) * 1e3).toFixed(1).padStart(8);
    const bytes = unit.stashBytes(B, T);
    console.log(`${unit.name.padEnd(9)}${ms(t.F)} ${ms(t.I)} ${ms(t.W)} ${mib(bytes.forward)}${mib(bytes.weight)}`);
  });
  const stashed = segment.stashBytesPerSlot(B, T, false);
  const recomputed = segment.stashBytesPerSlot(B, T, true);
  console.log(
    `whole model per micro-batch: F->I ${mib(stashed.forward)} MiB stashed, ${mib(recomputed.forward)} MiB with recompute; I->W ${mib(stashed.weight)} MiB`,
  );
}

console.log(`reference GPT: ${config.layers} layers, C=${config.embd}, ${config.heads} heads, T=${T}, V=${config.vocabSize}, one thread`);
throughput(1);
throughput(4);
perUnit(batchSize / 4);
