/**
 * GEMM throughput of both kernel backends, for the three forms a layer's forward and split backward use,
 * at the issue's target shape (512×768×3072) and the reference GPT's shapes (C=256, micro-batch 4 × T=128
 * = 512 rows, the 1F1B reference run; and the whole batch of 32 = 4096 rows, one worker), against the
 * measured single-core FMA peak (bench/peak.ts).
 *
 *   node dist/bench/gemm.js [rounds]        GFLOP/s per form and shape: native, WebAssembly and PyTorch's
 *                                           torch.mm on one thread (bench/torch_gemm.py) side by side
 *   node dist/bench/gemm.js --tune [rounds] the native register tiles and cache blocks, measured in
 *                                           interleaved rounds (min and median per candidate)
 *
 * Each backend runs in a worker thread of its own (a thread has one backend). Two clocks: wall time, and
 * this process's CPU time (only the measuring thread works), which is what one core gives while it runs and
 * so stays meaningful when other jobs share the cores. PyTorch runs when the interpreter test/python.ts finds
 * can import torch; otherwise the bench says so.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { allocFloat32, configureKernels, matmul, type BackendChoice, type MatmulOptions } from '../src/tensor/index.js';
import { loadNative } from '../src/tensor/select.js';
import { missingPython, python } from '../test/python.js';
import { measureFmaPeak } from './peak.js';

type FormName = 'A·B' | 'A·Bᵀ' | 'Aᵀ·B';

interface Shape {
  readonly name: string;
  readonly M: number;
  readonly K: number;
  readonly N: number;
  /** The forms the reference GPT multiplies at this shape (marked * in the table). */
  readonly model: readonly FormName[];
}

/**
 * Not a model shape: mlp up one panel wider, so that its rows are not a multiple of 4 KiB long, which costs
 * the kernels several percent (docs/kernels.md, "a seventh look"); set beside mlp up, it shows that cost.
 */
const widthControl: Shape = { name: 'mlp up, 1040 wide', M: 512, K: 256, N: 1040, model: [] };

// The block's weights are stored [in, out] (Hugging Face's Conv1D): forward A·B, input gradient A·Bᵀ,
// weight gradient Aᵀ·B over the batch's rows (K = BT). The logits' tied embedding is stored [V, C]: forward
// A·Bᵀ, input gradient A·B, weight gradient Aᵀ·B. Attention multiplies per head: Q·Kᵀ and dP = dO·Vᵀ
// (T, hs, T); P·V and dQ = dS·K, dV = Pᵀ·dO and dK = dSᵀ·Q (T, T, hs). The model skips the causal
// triangle's zero tiles of these; the bench times the whole product.
const shapes: readonly Shape[] = [
  { name: 'issue target', M: 512, K: 768, N: 3072, model: [] },
  { name: 'qkv (BT, C, 3C)', M: 512, K: 256, N: 768, model: ['A·B'] },
  { name: 'qkv dX (BT, 3C, C)', M: 512, K: 768, N: 256, model: ['A·Bᵀ'] },
  { name: 'attn proj (BT, C, C)', M: 512, K: 256, N: 256, model: ['A·B', 'A·Bᵀ'] },
  { name: 'mlp up (BT, C, 4C)', M: 512, K: 256, N: 1024, model: ['A·B', 'A·Bᵀ'] },
  widthControl,
  { name: 'mlp down (BT, 4C, C)', M: 512, K: 1024, N: 256, model: ['A·B', 'A·Bᵀ'] },
  { name: 'logits (BT, C, V)', M: 512, K: 256, N: 65, model: ['A·Bᵀ'] },
  { name: 'logits dX (BT, V, C)', M: 512, K: 65, N: 256, model: ['A·B'] },
  { name: 'qkv, batch 32', M: 4096, K: 256, N: 768, model: ['A·B'] },
  { name: 'mlp down, batch 32', M: 4096, K: 1024, N: 256, model: ['A·B', 'A·Bᵀ'] },
  { name: 'attention (T, hs, T)', M: 128, K: 64, N: 128, model: ['A·Bᵀ'] },
  { name: 'attention (T, T, hs)', M: 128, K: 128, N: 64, model: ['A·B', 'Aᵀ·B'] },
  { name: 'qkv dW (C, BT, 3C)', M: 256, K: 512, N: 768, model: ['Aᵀ·B'] },
  { name: 'attn proj dW (C, BT, C)', M: 256, K: 512, N: 256, model: ['Aᵀ·B'] },
  { name: 'mlp up dW (C, BT, 4C)', M: 256, K: 512, N: 1024, model: ['Aᵀ·B'] },
  { name: 'mlp down dW (4C, BT, C)', M: 1024, K: 512, N: 256, model: ['Aᵀ·B'] },
  { name: 'logits dW (V, BT, C)', M: 65, K: 512, N: 256, model: ['Aᵀ·B'] },
  { name: 'qkv dW, batch 32', M: 256, K: 4096, N: 768, model: ['Aᵀ·B'] },
  { name: 'logits dW, batch 32', M: 65, K: 4096, N: 256, model: ['Aᵀ·B'] },
];

const forms: readonly { readonly name: FormName; readonly options: MatmulOptions }[] = [
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

function randomFill(array: Float32Array): Float32Array {
  for (let i = 0; i < array.length; i++) array[i] = Math.random() - 0.5;
  return array;
}

const flops = (shape: Shape) => 2 * shape.M * shape.K * shape.N;
/** Calls per timed run, so each run holds about 0.3 GFLOP. */
const callsFor = (shape: Shape) => Math.max(1, Math.round(3e8 / flops(shape)));

/** The operands of one shape in kernel memory. */
function operands(shape: Shape) {
  return {
    a: randomFill(allocFloat32(shape.M * shape.K)),
    b: randomFill(allocFloat32(shape.K * shape.N)),
    out: allocFloat32(shape.M * shape.N),
  };
}

/** [shape][form] GFLOP/s in CPU time and in wall time. */
type Cells = { cpu: number; wall: number }[][];

/** One round on this thread's backend: every shape and form timed once, with the FMA peak before them. */
interface Round {
  readonly cells: Cells;
  /** GFLOP/s of the FMA loop (CPU time) taken at the start of the round; 0 without native kernels. */
  readonly peak: number;
}

/**
 * Rounds rather than whole runs per backend: the main thread alternates the engines round by round, so a
 * noisy minute on a shared host costs every engine one round rather than one engine every run. The FMA
 * peak is taken in every round too, since a core shared with another guest slows it as well.
 */
function measureRound(data: readonly ReturnType<typeof operands>[]): Round {
  const peak = measureFmaPeak(0.1, 1)?.gflops ?? 0;
  const cells = shapes.map((shape, s) => {
    const { a, b, out } = data[s]!;
    return forms.map((form) => {
      const timing = bestOf(1, callsFor(shape), () => matmul(out, a, b, shape.M, shape.K, shape.N, form.options));
      return { cpu: flops(shape) / timing.cpuSeconds / 1e9, wall: flops(shape) / timing.wallSeconds / 1e9 };
    });
  });
  return { cells, peak };
}

interface Candidate {
  readonly tile: number;
  readonly mc: number;
  readonly kc: number;
  readonly nc: number;
}

interface TuningResult {
  readonly tiles: readonly string[];
  /** Per stage: every candidate with its [round] scores. */
  readonly stages: readonly { readonly name: string; readonly rows: readonly { candidate: Candidate; scores: number[] }[] }[];
}

/** The shapes a layer of the reference run multiplies, and the issue's target. */
const tuningShapes = shapes.filter((shape) => shape.M === 512 && shape !== widthControl);

/**
 * Candidates in interleaved rounds (each round times every candidate once, so a noisy minute hits all
 * alike); a candidate's score per round is the geometric mean GFLOP/s (CPU time) over the tuning shapes
 * and the three forms. First the register tiles at the default blocks, then the blocks for the best tile.
 */
function tune(rounds: number): TuningResult {
  const native = loadNative();
  if ('reason' in native) throw new Error(native.reason);
  const { addon } = native;
  const tiles = addon.tiles();
  const data = tuningShapes.map(operands);
  const score = (candidates: readonly Candidate[]) => {
    const rows = candidates.map((candidate) => ({ candidate, scores: [] as number[] }));
    for (let round = 0; round < rounds; round++) {
      for (const row of rows) {
        const { tile, mc, kc, nc } = row.candidate;
        addon.tune(tile, mc, kc, nc);
        let logSum = 0;
        tuningShapes.forEach((shape, s) => {
          const { a, b, out } = data[s]!;
          for (const form of forms) {
            const timing = bestOf(1, Math.max(1, Math.round(callsFor(shape) / 3)), () => matmul(out, a, b, shape.M, shape.K, shape.N, form.options));
            logSum += Math.log(flops(shape) / timing.cpuSeconds / 1e9);
          }
        });
        row.scores.push(Math.exp(logSum / (tuningShapes.length * forms.length)));
      }
    }
    return rows;
  };
  const defaults = addon.tuning();
  const tileRows = score(tiles.map((_, tile) => ({ ...defaults, tile })));
  const bestTile = [...tileRows].sort((x, y) => median(y.scores) - median(x.scores))[0]!.candidate.tile;
  const blocks: Candidate[] = [];
  for (const mc of [48, 96, 144, 192]) for (const kc of [128, 256, 384]) for (const nc of [512, 1024, 2048, 4096]) blocks.push({ tile: bestTile, mc, kc, nc });
  return { tiles, stages: [{ name: 'register tiles at the default blocks', rows: tileRows }, { name: `cache blocks for tile ${tiles[bestTile]}`, rows: score(blocks) }] };
}

type Job = { readonly kind: 'measure'; readonly backend: BackendChoice } | { readonly kind: 'tune'; readonly rounds: number };

/** This module in a worker thread of its own, running `job` (a thread has one backend). */
function benchWorker(job: Job): Worker {
  return new Worker(fileURLToPath(import.meta.url), { workerData: job });
}

/** The next message `worker` posts, or its error. */
function nextMessage<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => reject(error);
    worker.once('error', fail);
    worker.once('message', (message: T) => {
      worker.off('error', fail);
      resolve(message);
    });
  });
}

/** An engine that times one round each time it is asked, so the main thread can alternate the engines. */
interface Engine {
  round(): Promise<Round>;
  close(): void;
}

/** A kernel backend, measured in a worker thread. */
function backendEngine(backend: BackendChoice): Engine {
  const worker = benchWorker({ kind: 'measure', backend });
  return {
    round: () => {
      const reply = nextMessage<Round>(worker);
      worker.postMessage('round');
      return reply;
    },
    close: () => void worker.terminate(),
  };
}

/** PyTorch's torch.mm on one thread in a Python process (bench/torch_gemm.py), a round per line it is sent. */
async function torchEngine(): Promise<Engine & { readonly version: string }> {
  const script = new URL('../../bench/torch_gemm.py', import.meta.url).pathname;
  const shapeList = JSON.stringify(shapes.map((shape) => [shape.M, shape.K, shape.N]));
  const child = spawn(python, [script, shapeList], { env: { ...process.env, OMP_NUM_THREADS: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextReport = async <T>(): Promise<T> => {
    const line = await lines.next();
    if (line.done) throw new Error(`${script} stopped: ${stderr.trim().split('\n').pop() ?? 'no message'}`);
    return JSON.parse(line.value) as T;
  };
  const { torch } = await nextReport<{ torch: string }>();
  return {
    version: torch,
    round: async () => {
      child.stdin.write('round\n');
      return { cells: (await nextReport<{ cells: Cells }>()).cells, peak: 0 };
    },
    close: () => child.stdin.end(),
  };
}

function inWorker<T>(job: Job): Promise<T> {
  return nextMessage<T>(benchWorker(job));
}

/** Cell by cell, the better of two rounds' GFLOP/s. */
function bestCells(x: Cells | undefined, y: Cells): Cells {
  return y.map((row, s) => row.map((cell, f) => ({ cpu: Math.max(cell.cpu, x?.[s]![f]!.cpu ?? 0), wall: Math.max(cell.wall, x?.[s]![f]!.wall ?? 0) })));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const peak = measureFmaPeak();
  if (process.argv[2] === '--tune') {
    if (peak === undefined) throw new Error('the native kernels are not built here: nothing to tune');
    const rounds = Number(process.argv[3] ?? 3);
    const { tiles, stages } = await inWorker<TuningResult>({ kind: 'tune', rounds });
    console.log(`native GEMM tuning (${peak.isa}, FMA peak ${peak.gflops.toFixed(1)} GFLOP/s): geometric mean GFLOP/s (CPU time) over ${tuningShapes.map((shape) => `${shape.M}×${shape.K}×${shape.N}`).join(', ')} in the three forms; ${rounds} interleaved rounds`);
    for (const { name, rows } of stages) {
      console.log(`\n${name}:\ntile   mc   kc    nc   median    min    max  of peak`);
      const ranked = [...rows].sort((x, y) => median(y.scores) - median(x.scores));
      for (const { candidate, scores } of ranked.slice(0, 12)) {
        const { tile, mc, kc, nc } = candidate;
        const middle = median(scores);
        console.log(
          `${tiles[tile]!.padEnd(5)} ${String(mc).padStart(4)} ${String(kc).padStart(4)} ${String(nc).padStart(5)}  ${middle.toFixed(1).padStart(6)} ${Math.min(...scores).toFixed(1).padStart(6)} ${Math.max(...scores).toFixed(1).padStart(6)}  ${((100 * middle) / peak.gflops).toFixed(0).padStart(6)}%`,
        );
      }
    }
    return;
  }
  const runs = Number(process.argv[2] ?? 7);
  const hasNative = peak !== undefined;
  const torchMissing = missingPython('torch');
  const engines = { wasm: backendEngine('wasm'), native: hasNative ? backendEngine('native') : undefined, torch: torchMissing ? undefined : await torchEngine() };
  const best: { wasm?: Cells; native?: Cells; torch?: Cells } = {};
  let roundsPeak = 0;
  for (let round = 0; round < runs; round++) {
    for (const name of ['wasm', 'native', 'torch'] as const) {
      const engine = engines[name];
      if (engine === undefined) continue;
      const measured = await engine.round();
      best[name] = bestCells(best[name], measured.cells);
      roundsPeak = Math.max(roundsPeak, measured.peak);
    }
  }
  for (const engine of Object.values(engines)) engine?.close();
  const wasm = best.wasm!;
  const native = best.native;
  const peer = best.torch;
  const peakGflops = Math.max(peak?.gflops ?? 0, roundsPeak);
  console.log(peak ? `FMA peak (${peak.isa}, one core): ${peakGflops.toFixed(1)} GFLOP/s in CPU time, the best of ${runs + 5} runs between the rounds (${peak.wallGflops.toFixed(1)} wall before them)` : 'native kernels not built here: WebAssembly only');
  console.log(`GEMM GFLOP/s, best of ${runs} rounds, the engines' rounds alternating, CPU time | wall; one thread; arrays from allocFloat32; * the forms the reference GPT runs`);
  console.log(engines.torch ? `pytorch: torch.mm (PyTorch ${engines.torch.version}) on one thread, each round right after the native one` : `pytorch: not run, ${torchMissing}`);
  const nameWidth = Math.max(...shapes.map((shape) => shape.name.length));
  console.log(
    `${'shape'.padEnd(nameWidth)} ${'M,K,N'.padEnd(14)} ${'form'.padEnd(5)} ${'native'.padStart(13)} ${'of peak'.padStart(8)} ${'wasm'.padStart(13)} ${'native/wasm'.padStart(12)}${peer ? ` ${'pytorch'.padStart(13)} ${'native/pytorch'.padStart(15)}` : ''}`,
  );
  shapes.forEach((shape, s) => {
    forms.forEach((form, f) => {
      const w = wasm[s]![f]!;
      const n = native?.[s]![f];
      const cell = (value: { cpu: number; wall: number }) => `${value.cpu.toFixed(1).padStart(6)} |${value.wall.toFixed(1).padStart(6)}`;
      console.log(
        [
          shape.name.padEnd(nameWidth),
          `${shape.M},${shape.K},${shape.N}`.padEnd(14),
          `${form.name}${shape.model.includes(form.name) ? '*' : ''}`.padEnd(5),
          n ? cell(n) : '—'.padStart(13),
          n ? `${((100 * n.cpu) / peakGflops).toFixed(0)}%`.padStart(8) : ''.padStart(8),
          cell(w),
          n ? `${(n.cpu / w.cpu).toFixed(2)}x`.padStart(12) : ''.padStart(12),
          ...(peer ? [cell(peer[s]![f]!), n ? `${(n.cpu / peer[s]![f]!.cpu).toFixed(2)}x`.padStart(15) : ''] : []),
        ].join(' '),
      );
    });
  });
}

if (isMainThread) {
  await main();
} else {
  const job = workerData as Job;
  if (job.kind === 'tune') {
    configureKernels({ backend: 'native' });
    parentPort!.postMessage(tune(job.rounds));
  } else {
    configureKernels({ backend: job.backend });
    const data = shapes.map(operands);
    parentPort!.on('message', () => parentPort!.postMessage(measureRound(data)));
  }
}
