/**
 * Conveyor against PyTorch on this machine, in the same run: the reference GPT (4 layers, C=256, 4 heads,
 * T=128, V=65), batch 32.
 *   - one worker (one rank, one kernel thread) against PyTorch on one thread (bench/torch_train_step.py);
 *   - two ranks under 1F1B, 8 micro-batches, one thread each, against PyTorch on two threads and against
 *     PyTorch's own pipeline runtime (torch.distributed.pipelining, Schedule1F1B, gloo, two processes of
 *     one thread, the same model, batch and micro-batches: scripts/torch_pipeline.py under torchrun).
 * Each round measures the two-core capacity first (bench/cores.ts) and then every setup, so the ratios of a
 * round compare runs made within a minute or two; ratios are printed both ways, with medians over rounds.
 * The one-thread pair is also compared in process CPU time (median per step), which a loaded host disturbs
 * far less than wall time.
 * PyTorch runs when the interpreter test/python.ts finds can import torch; otherwise the bench says so.
 * Run: npm run build && node dist/bench/versus-pytorch.js [steps] [rounds] [one-worker micro-batches]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { missingPython, python } from '../test/python.js';
import { describeCapacity, measureCoreCapacity } from './cores.js';
import { median, run, steadyMean } from './pipeline.js';

const repo = new URL('../../', import.meta.url).pathname;
const pipelineScript = join(repo, 'scripts/torch_pipeline.py');
const torchrun = join(dirname(python), 'torchrun');

const [stepsArgument, roundsArgument, microbatchesArgument] = process.argv.slice(2);
const steps = Number(stepsArgument ?? 6);
const rounds = Number(roundsArgument ?? 3);
const oneWorkerMicrobatches = Number(microbatchesArgument ?? 1);

/** The last line of a command's output parsed as JSON (the scripts print one object); throws with its stderr when it failed. */
function jsonFrom(command: string, args: readonly string[], environment: Record<string, string> = {}): Record<string, unknown> {
  const result = spawnSync(command, args, { cwd: repo, encoding: 'utf8', env: { ...process.env, ...environment }, timeout: 30 * 60_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${(result.stderr || result.error?.message || '').trim().split('\n').slice(-3).join(' / ')}`);
  const line = result.stdout.trim().split('\n').filter((text) => text.startsWith('{')).pop();
  if (line === undefined) throw new Error(`${command} printed no JSON: ${result.stdout.slice(-200)}`);
  return JSON.parse(line) as Record<string, unknown>;
}

/** PyTorch's tokens/s on `threads` threads, in wall and in process CPU time. */
function torchStep(threads: number): { wall: number; cpu: number } {
  const report = jsonFrom(python, ['bench/torch_train_step.py', '--batch-size', '32', '--steps', String(steps), '--threads', String(threads)], { OMP_NUM_THREADS: String(threads) });
  return { wall: report['tokensPerS'] as number, cpu: report['cpuTokensPerS'] as number };
}

/** Conveyor on one rank and one kernel thread, in wall and in process CPU time per steady step (median). */
async function conveyorOneWorker(): Promise<{ wall: number; cpu: number; kernels: string }> {
  const cpuSeconds: number[] = [];
  let last = process.cpuUsage();
  const result = await run(1, '1f1b', steps, oneWorkerMicrobatches, { threads: 1 }, {
    onStep: () => {
      const now = process.cpuUsage();
      cpuSeconds.push((now.user - last.user + now.system - last.system) / 1e6);
      last = now;
    },
  });
  const tokens = 32 * 128;
  return { wall: steadyMean(result, (step) => step.tokensPerS), cpu: tokens / median(cpuSeconds.slice(1)), kernels: result.kernels };
}

function torchPipeline(): number {
  const args = ['--nproc-per-node', '2', pipelineScript, '--layers', '4', '--embd', '256', '--heads', '4', '--seq-len', '128', '--batch-size', '32', '--microbatches', '8', '--steps', String(steps), '--schedule', '1F1B', '--threads', '1', '--json'];
  return jsonFrom(torchrun, args, { OMP_NUM_THREADS: '1' })['tokensPerS'] as number;
}

const torchMissing = missingPython('torch');
const pipelineMissing = torchMissing || (!existsSync(pipelineScript) ? `${pipelineScript} is not in this checkout` : !existsSync(torchrun) ? `${torchrun} not found` : false);

interface Round {
  capacity: string;
  conveyorOne: number;
  conveyorOneCpu: number;
  conveyorTwo: number;
  kernels: string;
  torchOne?: number;
  torchOneCpu?: number;
  torchTwo?: number;
  torchPipeline?: number;
}

/** The best of PyTorch on two threads and its pipeline runtime on two ranks, where measured. */
function bestOfTorch(round: Round): number | undefined {
  const measured = [round.torchTwo, round.torchPipeline].filter((value): value is number => value !== undefined);
  return measured.length === 0 ? undefined : Math.max(...measured);
}

const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '—' : `${(a / b).toFixed(2)}x`);
const rate = (value: number | undefined) => (value === undefined ? '—' : value.toFixed(0));

console.log(`reference GPT, batch 32, ${steps} steps per run (means over steps 2..${steps}), ${rounds} round(s); Conveyor one worker as ${oneWorkerMicrobatches} micro-batch(es), two ranks 1F1B as 8`);
if (torchMissing) console.log(`PyTorch not measured: ${torchMissing}`);
else if (pipelineMissing) console.log(`PyTorch's pipeline runtime not measured: ${pipelineMissing}`);
const results: Round[] = [];
for (let round = 1; round <= rounds; round++) {
  const capacity = describeCapacity(await measureCoreCapacity());
  const one = await conveyorOneWorker();
  const two = await run(2, '1f1b', steps, 8, { threads: 1 });
  const torchOne = torchMissing ? undefined : torchStep(1);
  const result: Round = {
    capacity,
    conveyorOne: one.wall,
    conveyorOneCpu: one.cpu,
    conveyorTwo: steadyMean(two, (step) => step.tokensPerS),
    kernels: two.kernels,
    ...(torchOne === undefined ? {} : { torchOne: torchOne.wall, torchOneCpu: torchOne.cpu, torchTwo: torchStep(2).wall }),
    ...(pipelineMissing ? {} : { torchPipeline: torchPipeline() }),
  };
  results.push(result);
  const bestTorchTwo = bestOfTorch(result);
  console.log(`\nround ${round}: ${capacity}; Conveyor kernels ${result.kernels}`);
  console.log(`  one worker   Conveyor ${rate(result.conveyorOne)} tokens/s, PyTorch 1 thread ${rate(result.torchOne)}: Conveyor/PyTorch ${ratio(result.conveyorOne, result.torchOne)}, PyTorch/Conveyor ${ratio(result.torchOne, result.conveyorOne)}`);
  console.log(`    CPU time   Conveyor ${rate(result.conveyorOneCpu)} tokens/s, PyTorch 1 thread ${rate(result.torchOneCpu)}: Conveyor/PyTorch ${ratio(result.conveyorOneCpu, result.torchOneCpu)}, PyTorch/Conveyor ${ratio(result.torchOneCpu, result.conveyorOneCpu)}`);
  console.log(
    `  two ranks    Conveyor 1F1B ${rate(result.conveyorTwo)} tokens/s, PyTorch 2 threads ${rate(result.torchTwo)}, PyTorch pipeline 1F1B ${rate(result.torchPipeline)}: ` +
      `Conveyor/best ${ratio(result.conveyorTwo, bestTorchTwo)}, best/Conveyor ${ratio(bestTorchTwo, result.conveyorTwo)}`,
  );
}
if (rounds > 1) {
  const middle = (pick: (round: Round) => number | undefined) => {
    const values = results.map(pick).filter((value): value is number => value !== undefined);
    return values.length === 0 ? undefined : median(values);
  };
  const times = (value: number | undefined) => (value === undefined ? '—' : `${value.toFixed(2)}x`);
  console.log(`\nmedians over ${rounds} rounds (a ratio's median is over each round's ratio):`);
  console.log(
    `  one worker   Conveyor ${rate(middle((r) => r.conveyorOne))}, PyTorch 1 thread ${rate(middle((r) => r.torchOne))}; ` +
      `Conveyor/PyTorch ${times(middle((r) => (r.torchOne === undefined ? undefined : r.conveyorOne / r.torchOne)))}`,
  );
  console.log(
    `    CPU time   Conveyor ${rate(middle((r) => r.conveyorOneCpu))}, PyTorch 1 thread ${rate(middle((r) => r.torchOneCpu))}; ` +
      `Conveyor/PyTorch ${times(middle((r) => (r.torchOneCpu === undefined ? undefined : r.conveyorOneCpu / r.torchOneCpu)))}`,
  );
  console.log(
    `  two ranks    Conveyor ${rate(middle((r) => r.conveyorTwo))}, PyTorch 2 threads ${rate(middle((r) => r.torchTwo))}, PyTorch pipeline ${rate(middle((r) => r.torchPipeline))}; ` +
      `Conveyor/best ${times(middle((r) => { const best = bestOfTorch(r); return best === undefined ? undefined : r.conveyorTwo / best; }))}`,
  );
}
