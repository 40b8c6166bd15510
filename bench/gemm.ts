/**
 * GEMM throughput: the WebAssembly SIMD kernel behind matmul against plain JavaScript loops, for the three
 * forms a layer's forward and split backward use, at the issue's target shape and the shapes of the
 * reference GPT (C=256, T=128, batch 16, V=65).
 *
 * usage: node dist/bench/gemm.js [runs]   (default 7 runs per figure; prints the best run)
 * Two clocks: wall time, and this process's CPU time, which is what a single thread gets while it runs
 * and so stays meaningful when other jobs share the cores.
 */
import { allocFloat32, matmul, type MatmulOptions } from '../src/tensor/index.js';

interface Shape {
  readonly name: string;
  readonly M: number;
  readonly K: number;
  readonly N: number;
}

interface Form {
  readonly name: string;
  readonly options: MatmulOptions;
}

const shapes: readonly Shape[] = [
  { name: 'issue target', M: 512, K: 768, N: 3072 },
  { name: 'GPT qkv (BT, C, 3C)', M: 2048, K: 256, N: 768 },
  { name: 'GPT mlp up (BT, C, 4C)', M: 2048, K: 256, N: 1024 },
  { name: 'GPT mlp down (BT, 4C, C)', M: 2048, K: 1024, N: 256 },
  { name: 'GPT logits (BT, C, V)', M: 2048, K: 256, N: 65 },
  { name: 'attention (T, hs, T)', M: 128, K: 64, N: 128 },
];

const forms: readonly Form[] = [
  { name: 'A·B', options: {} },
  { name: 'A·Bᵀ', options: { transB: true } },
  { name: 'Aᵀ·B', options: { transA: true } },
];

interface Timing {
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
}

/** Best wall and CPU time per call over `runs` timed runs of `calls` calls each, after a warm-up run. */
function bestOf(runs: number, calls: number, work: () => void): Timing {
  for (let call = 0; call < calls; call++) work();
  let wallSeconds = Infinity;
  let cpuSeconds = Infinity;
  for (let run = 0; run < runs; run++) {
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();
    for (let call = 0; call < calls; call++) work();
    const wall = (performance.now() - wallStart) / 1e3;
    const cpu = process.cpuUsage(cpuStart);
    wallSeconds = Math.min(wallSeconds, wall / calls);
    cpuSeconds = Math.min(cpuSeconds, (cpu.user + cpu.system) / 1e6 / calls);
  }
  return { wallSeconds, cpuSeconds };
}

/** The straightforward JavaScript loops, in the loop order that streams rows for each form. */
function plainMatmul(out: Float32Array, a: Float32Array, b: Float32Array, M: number, K: number, N: number, options: MatmulOptions): void {
  if (options.transB) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let sum = 0;
        for (let k = 0; k < K; k++) sum += a[i * K + k]! * b[j * K + k]!;
        out[i * N + j] = sum;
      }
    }
    return;
  }
  out.fill(0, 0, M * N);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < K; k++) {
      const aik = options.transA ? a[k * M + i]! : a[i * K + k]!;
      for (let j = 0; j < N; j++) out[i * N + j] = out[i * N + j]! + aik * b[k * N + j]!;
    }
  }
}

function randomFill(array: Float32Array): Float32Array {
  for (let i = 0; i < array.length; i++) array[i] = Math.random() - 0.5;
  return array;
}

function gflops(shape: Shape, seconds: number): string {
  return ((2 * shape.M * shape.K * shape.N) / seconds / 1e9).toFixed(1).padStart(6);
}

const runs = Number(process.argv[2] ?? 7);
console.log(`GEMM GFLOP/s, best of ${runs} runs (wall | CPU time); kernel arrays from allocFloat32 unless noted`);
console.log(`${'shape'.padEnd(26)} ${'M,K,N'.padEnd(15)} ${'form'.padEnd(5)}  ${'wasm'.padStart(15)}  ${'wasm, copied'.padStart(15)}  ${'plain JS'.padStart(15)}`);
for (const shape of shapes) {
  const { M, K, N } = shape;
  const a = randomFill(allocFloat32(M * K));
  const b = randomFill(allocFloat32(K * N));
  const out = allocFloat32(M * N);
  const plainA = a.slice();
  const plainB = b.slice();
  const plainOut = new Float32Array(M * N);
  // small shapes repeat within a run so each timed run holds about 0.2 GFLOP
  const calls = Math.max(1, Math.round(1e8 / (M * K * N)));
  for (const form of forms) {
    const kernel = bestOf(runs, calls, () => matmul(out, a, b, M, K, N, form.options));
    const copied = bestOf(runs, calls, () => matmul(plainOut, plainA, plainB, M, K, N, form.options));
    const plain = bestOf(Math.min(runs, 2), 1, () => plainMatmul(plainOut, plainA, plainB, M, K, N, form.options));
    const cell = (t: Timing): string => `${gflops(shape, t.wallSeconds)} |${gflops(shape, t.cpuSeconds)}`;
    console.log(`${shape.name.padEnd(26)} ${`${M},${K},${N}`.padEnd(15)} ${form.name.padEnd(5)}  ${cell(kernel)}  ${cell(copied)}  ${cell(plain)}`);
  }
}
