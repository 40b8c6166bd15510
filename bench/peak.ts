/**
 * The single-core FMA peak: the native addon's loop of independent 256-bit (AVX2) or 512-bit (AVX-512)
 * FMA chains, timed in this thread's CPU time, so a loaded host lowers the figure less than wall time
 * would. The GEMM bench divides by it. Run: npm run build && node dist/bench/peak.js [seconds]
 */
import { pathToFileURL } from 'node:url';
import { loadNative } from '../src/tensor/select.js';

export interface FmaPeak {
  readonly isa: string;
  /** GFLOP/s in this thread's CPU time and in wall time; the best of several timed runs. */
  readonly gflops: number;
  readonly wallGflops: number;
}

/** Best of `runs` runs of about `seconds` each; undefined when the native kernels are not built here. */
export function measureFmaPeak(seconds = 0.3, runs = 5): FmaPeak | undefined {
  const native = loadNative();
  if ('reason' in native) return undefined;
  const calibration = native.addon.fmaPeak(1e6);
  const iterations = Math.max(1e6, Math.round((1e6 * seconds) / Math.max(calibration.seconds, 1e-6)));
  let gflops = 0;
  let wallGflops = 0;
  for (let run = 0; run < runs; run++) {
    const { seconds: cpu, wallSeconds, flops } = native.addon.fmaPeak(iterations);
    gflops = Math.max(gflops, flops / cpu / 1e9);
    wallGflops = Math.max(wallGflops, flops / wallSeconds / 1e9);
  }
  return { isa: native.isa, gflops, wallGflops };
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const peak = measureFmaPeak(Number(process.argv[2] ?? 0.3));
  if (peak === undefined) console.log('no native kernels built here: no FMA peak to measure');
  else console.log(`FMA peak (${peak.isa}, one core): ${peak.gflops.toFixed(1)} GFLOP/s in CPU time, ${peak.wallGflops.toFixed(1)} in wall time`);
}
