/**
 * Pipeline speed-up on this machine: the reference model (4 layers, C=256, 4 heads, T=128, batch 32,
 * 8 micro-batches) on one rank and on two ranks under each schedule; tokens/s, the speed-up against the
 * ideal m·p/(m+p-1), and the measured pipeline time against the simulator fed with the measured costs.
 * Before each run it measures the machine's two-core capacity (bench/cores.ts): on this shared host two
 * vCPUs do not always deliver two cores, and a speed-up is only comparable with the capacity beside it.
 * Run: npm run build && node dist/bench/pipeline.js [steps] [schedule,schedule,...] [rounds]
 */
import { pathToFileURL } from 'node:url';
import { generateSchedule, type ScheduleName } from '../src/schedule/index.js';
import { parseTrainOptions } from '../src/runtime/config.js';
import { runTraining, type Corpus, type RunResult, type TrainHooks } from '../src/runtime/train.js';
import type { KernelRequest } from '../src/tensor/index.js';
import { describeCapacity, measureCoreCapacity } from './cores.js';

const vocabSize = 65;
const allSchedules: readonly ScheduleName[] = ['1f1b', 'gpipe', 'interleaved-1f1b', 'zb-h1', 'zb-v', 'naive'];

function referenceOptions(stages: number, schedule: ScheduleName, steps: number, microbatches: number) {
  return parseTrainOptions({
    layers: 4, embd: 256, heads: 4, seqLen: 128, batchSize: 32, microbatches, steps, lr: 3e-4, weightDecay: 0.1,
    clip: 1, seed: 1, untied: false, stages, replicas: 1, schedule, recompute: false, json: true,
    ...(schedule === 'interleaved-1f1b' || schedule === 'zb-v' ? { chunks: 2 } : {}),
  });
}

/** Uniformly random tokens: the speed of a step does not depend on what the text says. */
function randomCorpus(rows: number): Corpus {
  const make = (position: number) => {
    let state = (position + 1) * 2654435761;
    const next = () => ((state = (state * 1103515245 + 12345) >>> 0) >>> 16) % vocabSize;
    return { inputs: Int32Array.from({ length: rows }, next), targets: Int32Array.from({ length: rows }, next) };
  };
  return { vocabSize, batch: make, validation: [make(-1)] };
}

/** The reference run; by default 8 micro-batches on the kernels the host chooses, one thread per rank. */
export async function run(stages: number, schedule: ScheduleName, steps: number, microbatches = 8, kernels: KernelRequest = {}, hooks: TrainHooks = {}): Promise<RunResult> {
  const options = referenceOptions(stages, schedule, steps, microbatches);
  const generated = generateSchedule(schedule, { ranks: stages, microbatches: options.microbatches, ...(options.chunks ? { chunks: options.chunks } : {}) });
  const config = { vocabSize, blockSize: options.seqLen, layers: options.layers, embd: options.embd, heads: options.heads, tied: true };
  return runTraining({ options, config, schedule: generated, corpus: randomCorpus(options.batchSize * options.seqLen), start: { step: 0 }, kernels }, hooks);
}

/** The steps after the first, which pays for start-up. */
function steadySteps(result: RunResult): RunResult['steps'] {
  return result.steps.slice(1);
}

/** Mean over the steady steps. */
export function steadyMean(result: RunResult, pick: (step: RunResult['steps'][number]) => number): number {
  const steady = steadySteps(result);
  return steady.reduce((sum, step) => sum + pick(step), 0) / steady.length;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Each round measures the two-core capacity, then one rank, then two ranks under each schedule, so every
 * speed-up divides two runs made within a minute of each other; the host drifts more than that between rounds.
 */
export async function main(steps = 6, schedules: readonly ScheduleName[] = allSchedules, rounds = 1): Promise<void> {
  const m = 8;
  const p = 2;
  const ideal = (m * p) / (m + p - 1);
  console.log(`reference model, batch 32 = ${m} micro-batches of 4, ${steps} steps per run (means over steps 2..${steps}), ${rounds} round(s)`);
  console.log(`ideal 2-rank speed-up m·p/(m+p-1) = ${ideal.toFixed(3)}x; 90% of it = ${(0.9 * ideal).toFixed(3)}x`);
  const speedups = new Map<ScheduleName, number[]>(schedules.map((schedule) => [schedule, []]));
  // every steady step's time in seconds, for the best-step figures: the quietest moment each setup saw
  const singleSteps: number[] = [];
  const pipelineSteps = new Map<ScheduleName, number[]>(schedules.map((schedule) => [schedule, []]));
  for (let round = 1; round <= rounds; round++) {
    const capacity = await measureCoreCapacity();
    const single = await run(1, '1f1b', steps);
    const singleTokens = steadyMean(single, (step) => step.tokensPerS);
    singleSteps.push(...steadySteps(single).map((step) => step.stepTimeS));
    console.log(`\nround ${round}: ${describeCapacity(capacity)}`);
    console.log(`1 rank: ${singleTokens.toFixed(0)} tokens/s, ${(steadyMean(single, (step) => step.stepTimeS) * 1000).toFixed(1)} ms per step`);
    console.log('schedule           tokens/s  speed-up  of ideal  step ms  pipeline ms  simulated ms  step/simulated  bubble (measured | simulated)');
    for (const schedule of schedules) {
      const result = await run(p, schedule, steps);
      const tokens = steadyMean(result, (step) => step.tokensPerS);
      const speedup = tokens / singleTokens;
      speedups.get(schedule)!.push(speedup);
      pipelineSteps.get(schedule)!.push(...steadySteps(result).map((step) => step.stepTimeS));
      // The whole mean step (pipeline, gradient norm, optimizer) against the simulated pipeline alone.
      const stepTimeS = steadyMean(result, (step) => step.stepTimeS);
      const bubbles = (fractions: readonly number[]) => fractions.map((f) => `${(f * 100).toFixed(1)}%`).join(' ');
      console.log(
        [
          schedule.padEnd(17),
          tokens.toFixed(0).padStart(9),
          `${speedup.toFixed(3)}x`.padStart(9),
          `${((speedup / ideal) * 100).toFixed(1)}%`.padStart(9),
          (stepTimeS * 1000).toFixed(1).padStart(8),
          (result.timeline.makespan * 1000).toFixed(1).padStart(12),
          (result.ideal.makespan * 1000).toFixed(1).padStart(13),
          (stepTimeS / result.ideal.makespan).toFixed(3).padStart(15),
          `  ${bubbles(result.timeline.bubbleFraction)} | ${bubbles(result.ideal.bubbleFraction)}`,
        ].join(' '),
      );
    }
  }
  if (rounds < 2) return;
  const bestSingle = Math.min(...singleSteps);
  console.log(`\nover ${rounds} rounds; best step: the fastest steady step of each setup (1 rank: ${(bestSingle * 1000).toFixed(0)} ms)`);
  console.log('schedule           median speed-up  best step ms  best-step speed-up  per round');
  for (const [schedule, values] of speedups) {
    const bestPipeline = Math.min(...pipelineSteps.get(schedule)!);
    const list = values.map((value) => value.toFixed(2)).join(' ');
    console.log(
      `${schedule.padEnd(17)}  ${`${median(values).toFixed(3)}x`.padStart(15)}  ${(bestPipeline * 1000).toFixed(0).padStart(12)}  ${`${(bestSingle / bestPipeline).toFixed(3)}x`.padStart(18)}  ${list}`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const [steps, schedules, rounds] = process.argv.slice(2);
  await main(Number(steps ?? 6), schedules ? (schedules.split(',') as ScheduleName[]) : allSchedules, Number(rounds ?? 1));
}
