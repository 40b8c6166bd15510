/**
 * How much of two cores this machine gives right now to the reference model's training. Two worker
 * threads each train the whole reference GPT (4 layers, C=256, 4 heads, T=128), one micro-batch of 4
 * sequences after another, in three windows: thread A alone, A and B at once, then B alone. The capacity
 * is the pair's summed tokens/s over one thread's: 2.0 when the two vCPUs act as two real cores, lower
 * when the host shares what is under them (seen on this machine: anywhere from about 1.2 to 2.0 within
 * one hour). No two-rank pipeline can beat one rank by more than this factor, so the pipeline bench
 * prints it beside every speed-up.
 * Run: npm run build && node dist/bench/cores.js [seconds per window] [rounds]
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSegment } from '../src/nn/segment.js';
import { zeroGradients } from '../src/nn/gradients.js';
import { referenceBatch, referenceConfig } from './reference-model.js';

const sequences = 4;

type Thread = 'A' | 'B';

/**
 * The windows, in order; the main thread sets the current one in shared memory and both workers poll it.
 * Between windows it is 0 until every thread of the closing one has reported, so no window's last
 * micro-batch overlaps the next window.
 */
const WARM_UP = 1; // both threads compile and tier up the kernels, so no measured window pays for it
const A_ALONE = 2;
const TOGETHER = 3;
const B_ALONE = 4;
const STOP = 5;

function runs(thread: Thread, window: number): boolean {
  return window === WARM_UP || window === TOGETHER || window === (thread === 'A' ? A_ALONE : B_ALONE);
}

export interface CoreCapacity {
  /** tokens/s of each thread training alone. */
  readonly alone: readonly [number, number];
  /** tokens/s of each thread while both train. */
  readonly together: readonly [number, number];
  /** Summed tokens/s together over the mean of the two alone. */
  readonly capacity: number;
}

interface WindowReport {
  readonly thread: Thread;
  readonly window: number;
  readonly tokensPerS: number;
}

function workerLoop(thread: Thread, control: Int32Array): void {
  const segment = buildSegment(referenceConfig, 1);
  const microbatch = referenceBatch(sequences, 0);
  parentPort!.postMessage('built'); // the first window opens only once both threads can train
  for (;;) {
    const window = Atomics.load(control, 0);
    if (window === STOP) return;
    if (!runs(thread, window)) {
      Atomics.wait(control, 0, window, 50);
      continue;
    }
    // train micro-batches until the window closes, then report once for it
    const start = performance.now();
    let count = 0;
    while (Atomics.load(control, 0) === window) {
      zeroGradients(segment.parameters);
      segment.forward(0, microbatch);
      segment.backward(0, 1);
      count++;
    }
    const seconds = (performance.now() - start) / 1000;
    const report: WindowReport = { thread, window, tokensPerS: (count * sequences * referenceConfig.blockSize) / seconds };
    parentPort!.postMessage(report);
  }
}

/** Measures the two-core capacity over three windows of `seconds` each, after a warm-up. */
export async function measureCoreCapacity(seconds = 2): Promise<CoreCapacity> {
  const control = new Int32Array(new SharedArrayBuffer(4));
  const script = fileURLToPath(import.meta.url);
  const threads = (['A', 'B'] as const).map((thread) => new Worker(script, { workerData: { thread, control: control.buffer } }));
  const reports: WindowReport[] = [];
  let reported: () => void = () => {};
  const built = threads.map((worker) => new Promise<void>((resolve) => worker.once('message', () => resolve())));
  await Promise.all(built);
  for (const worker of threads) {
    worker.on('message', (report: WindowReport) => {
      reports.push(report);
      reported();
    });
  }
  const exited = threads.map((worker) => new Promise<void>((resolve, reject) => worker.on('exit', () => resolve()).on('error', reject)));
  const expected = (window: number) => (['A', 'B'] as const).filter((thread) => runs(thread, window)).length;
  /** Opens a window, keeps it open `windowSeconds`, closes it and waits until every thread in it has reported. */
  const runWindow = async (window: number, windowSeconds: number) => {
    Atomics.store(control, 0, window);
    Atomics.notify(control, 0);
    await new Promise((resolve) => setTimeout(resolve, windowSeconds * 1000));
    const closed = new Promise<void>((resolve) => {
      reported = () => {
        if (reports.filter((report) => report.window === window).length === expected(window)) resolve();
      };
    });
    Atomics.store(control, 0, 0);
    Atomics.notify(control, 0);
    reported();
    await closed;
  };
  await runWindow(WARM_UP, 1);
  await runWindow(A_ALONE, seconds);
  await runWindow(TOGETHER, seconds);
  await runWindow(B_ALONE, seconds);
  Atomics.store(control, 0, STOP);
  Atomics.notify(control, 0);
  await Promise.all(exited);
  const rate = (thread: Thread, window: number) => reports.find((report) => report.thread === thread && report.window === window)!.tokensPerS;
  const alone = [rate('A', A_ALONE), rate('B', B_ALONE)] as const;
  const together = [rate('A', TOGETHER), rate('B', TOGETHER)] as const;
  return { alone, together, capacity: (together[0] + together[1]) / ((alone[0] + alone[1]) / 2) };
}

export function describeCapacity({ alone, together, capacity }: CoreCapacity): string {
  const f = (value: number) => value.toFixed(0);
  return `two-core capacity ${capacity.toFixed(2)}x (tokens/s alone ${f(alone[0])} | ${f(alone[1])}, together ${f(together[0])} + ${f(together[1])})`;
}

if (!isMainThread) {
  const { thread, control } = workerData as { thread: Thread; control: SharedArrayBuffer };
  workerLoop(thread, new Int32Array(control));
} else if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const seconds = Number(process.argv[2] ?? 2);
  const rounds = Number(process.argv[3] ?? 3);
  for (let round = 0; round < rounds; round++) console.log(describeCapacity(await measureCoreCapacity(seconds)));
}
