/**
 * Training throughput of the reference GPT (4 layers, C=256, 4 heads, T=128, batch 32, V=65) on one thread:
 * forward + backward tokens/s for the whole batch as one micro-batch, as 4, and as 4 with recomputation;
 * then the time of F, I and W per unit and what each unit stashes per in-flight micro-batch.
 * Two clocks, as bench/gemm.ts: wall time, and this process's CPU time, which is what one thread gets while
 * it runs and so stays meaningful when other jobs share the cores.
 * Usage: [CONVEYOR_KERNELS=native|wasm] node dist/bench/model.js [--steps N] [--batch B]   (one kernel thread)
 */
import { buildSegment, ModelSegment } from '../src/nn/segment.js';
import type { Unit } from '../src/nn/units/unit.js';
import { zeroGradients } from '../src/nn/gradients.js';
import { configureKernels, kernelRequestFromEnvironment, kernelsName } from '../src/tensor/index.js';
import { referenceBatch, referenceConfig } from './reference-model.js';

const kernels = configureKernels(kernelRequestFromEnvironment(process.env));

const config = referenceConfig;

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? fallback : Number(process.argv[index + 1]);
}

const steps = flag('steps', 3);
const batchSize = flag('batch', 32);
const T = config.blockSize;

/** Wall and CPU seconds since a mark. */
interface Clock {
  readonly wall: bigint;
  readonly cpu: NodeJS.CpuUsage;
}

function mark(): Clock {
  return { wall: process.hrtime.bigint(), cpu: process.cpuUsage() };
}

function elapsed(since: Clock): { wall: number; cpu: number } {
  const cpu = process.cpuUsage(since.cpu);
  return { wall: Number(process.hrtime.bigint() - since.wall) / 1e9, cpu: (cpu.user + cpu.system) / 1e6 };
}

/** Model FLOPs per token for forward + backward (6 per weight in the matmuls, plus attention as computed, full T×T). */
function flopsPerToken(): number {
  const C = config.embd;
  const matmulWeights = config.layers * 12 * C * C + config.vocabSize * C;
  const attention = config.layers * 2 * 2 * T * C; // QKᵀ and AV forward, per token
  return 6 * matmulWeights + 3 * attention;
}

const segment = buildSegment(config, 1);

/** Median and best of a list of seconds; on a shared machine the best is the closest to the real cost. */
function summary(times: readonly number[]): { median: number; best: number } {
  const sorted = [...times].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, best: sorted[0]! };
}

function throughput(microbatches: number, recompute: boolean): void {
  const B = batchSize / microbatches;
  const parts = Array.from({ length: microbatches }, (_, m) => referenceBatch(B, m));
  segment.recompute = recompute;
  const step = () => {
    zeroGradients(segment.parameters);
    parts.forEach((batch, slot) => {
      segment.forward(slot, batch);
      segment.backward(slot, 1 / microbatches);
    });
  };
  step(); // warm-up: JIT and buffer allocation
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let s = 0; s < steps; s++) {
    const start = mark();
    step();
    const time = elapsed(start);
    wall.push(time.wall);
    cpu.push(time.cpu);
  }
  segment.recompute = false;
  const tokens = batchSize * T;
  const figures = (times: number[], clock: string) => {
    const { median, best } = summary(times);
    const rate = (time: number) => `${(tokens / time).toFixed(0)} tokens/s, ${((tokens * flopsPerToken()) / time / 1e9).toFixed(1)} GFLOP/s`;
    return `${clock} median ${median.toFixed(3)} s (${rate(median)}), best ${best.toFixed(3)} s (${rate(best)})`;
  };
  console.log(`batch ${batchSize} as ${microbatches} x ${B}${recompute ? ', recompute' : ''}, ${steps} steps:`);
  console.log(`  ${figures(wall, 'wall')}`);
  console.log(`  ${figures(cpu, 'cpu ')}`);
}

function perUnit(B: number): void {
  const batch = referenceBatch(B, 0);
  const units: readonly Unit[] = segment.units;
  // CPU time per action: what the runtime's partitioner would measure on an idle core.
  const timings = units.map(() => ({ F: [] as number[], I: [] as number[], W: [] as number[] }));
  for (let round = 0; round <= steps; round++) {
    let x: Float32Array | number | null = null;
    units.forEach((unit, u) => {
      const start = mark();
      x = unit.forward(0, batch, x as Float32Array | null);
      if (round > 0) timings[u]!.F.push(elapsed(start).cpu);
      if (x instanceof Float32Array) x = x.slice(); // as a stage boundary would
    });
    let gradient: Float32Array | number | null = 1;
    for (let u = units.length - 1; u >= 0; u--) {
      let start = mark();
      gradient = units[u]!.backwardInput(0, gradient!);
      if (round > 0) timings[u]!.I.push(elapsed(start).cpu);
      if (gradient instanceof Float32Array) gradient = gradient.slice();
      start = mark();
      units[u]!.backwardWeight(0);
      if (round > 0) timings[u]!.W.push(elapsed(start).cpu);
    }
  }
  console.log(`\nper unit, micro-batch [${B}, ${T}]: CPU ms, median (best) of ${steps}; stash per in-flight micro-batch, MiB`);
  console.log('unit             F              I              W      F->I    I->W  F->I recompute');
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(3).padStart(8);
  const ms = (times: number[]) => {
    const { median, best } = summary(times);
    return `${(median * 1e3).toFixed(1).padStart(7)} (${(best * 1e3).toFixed(1).padStart(5)})`;
  };
  units.forEach((unit, u) => {
    const t = timings[u]!;
    const bytes = unit.stashBytes(B, T);
    const alone = new ModelSegment(config, [unit]).stashBytesPerSlot(B, T, true); // per-unit checkpointing
    console.log(`${unit.name.padEnd(9)}${ms(t.F)}${ms(t.I)}${ms(t.W)}${mib(bytes.forward)}${mib(bytes.weight)}${mib(alone.forward)}`);
  });
  const stashed = segment.stashBytesPerSlot(B, T, false);
  const recomputed = segment.stashBytesPerSlot(B, T, true);
  console.log(
    `whole model per micro-batch: F->I ${mib(stashed.forward)} MiB stashed, ${mib(recomputed.forward)} MiB with recompute (token ids and targets); I->W ${mib(stashed.weight)} MiB`,
  );
}

console.log(`reference GPT: ${config.layers} layers, C=${config.embd}, ${config.heads} heads, T=${T}, V=${config.vocabSize}, one thread, kernels ${kernelsName(kernels)}`);
throughput(1, false);
throughput(4, false);
throughput(4, true);
perUnit(batchSize / 4);
