import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diagnose, diagnosisJson, readTrace } from '../../src/planner/diagnose/index.js';
import { generateSchedule, simulate, type CostModel, type ScheduleName } from '../../src/schedule/index.js';
import { toChromeTrace } from '../../src/trace/index.js';

const fixture = (schedule: string, rank: number): string =>
  new URL(`../../../test/planner/fixtures/kineto/${schedule}/rank${rank}.json`, import.meta.url).pathname;
const readFixture = (schedule: string, rank: number) => readTrace(JSON.parse(readFileSync(fixture(schedule, rank), 'utf8')), fixture(schedule, rank), rank);
const close = (a: number, b: number, tolerance = 1e-9): boolean => Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b));

/** A Kineto-shaped trace of one rank, microseconds, built by hand so that every figure below is known exactly. */
function handTrace(rank: number) {
  const cpu = (name: string, ts: number, dur: number) => ({ name, ph: 'X', cat: 'cpu_op', ts, dur, pid: 7, tid: 7 });
  const note = (name: string, ts: number, dur: number, tid = 7) => ({ name, ph: 'X', cat: 'user_annotation', ts, dur, pid: 7, tid });
  const step = (t: number) => [
    cpu('aten::mm', t, 100), // forward 0..100
    cpu('c10d::send', t + 100, 10), note('gloo:send', t + 100, 300), // sent; in flight while the next forward runs
    cpu('aten::mm', t + 110, 90), // forward 110..200
    note('gloo:recv', t + 200, 250), // waiting for a gradient until 450 (the thread does nothing 200..450)
    cpu('autograd::engine::evaluate_function: MmBackward0', t + 450, 200), // backward 450..650
    cpu('c10d::allreduce_', t + 650, 20), note('gloo:all_reduce', t + 660, 140, 9), // collective on gloo's thread until 800
    note('Optimizer.step#AdamW.step', t + 800, 150), cpu('aten::add_', t + 800, 150), // optimizer 800..950
  ];
  return {
    schemaVersion: 1, distributedInfo: { backend: 'gloo', rank, world_size: 2 },
    traceEvents: [{ name: 'thread_name', ph: 'M', pid: 7, tid: 7, args: { name: 'python3' } }, ...step(0), ...step(1000), ...step(2000)],
  };
}

test('a Kineto trace: each moment of a step is compute, a wait for a peer or a collective, optimizer or other', () => {
  const [trace] = readTrace(handTrace(1), 'hand.json', 0);
  assert.equal(trace!.rank, 1); // from distributedInfo
  assert.equal(trace!.steps.length, 3); // one per optimizer step
  const second = trace!.steps[1]!;
  // The second step runs from the first optimizer step's end (950 µs) to its own (1950 µs).
  assert.ok(close(second.start, 950e-6) && close(second.end, 1950e-6));
  const seconds = (kind: string) => second.spans.filter((span) => span.kind === kind).reduce((sum, span) => sum + span.end - span.start, 0);
  assert.ok(close(seconds('forward'), 190e-6), `${seconds('forward')}`); // 100 + 90: the send in flight does not stop compute
  assert.ok(close(seconds('backward'), 200e-6));
  assert.ok(close(seconds('p2p'), 260e-6)); // the send's own 10 µs, and the gap the gradient's arrival ends
  assert.ok(close(seconds('collective'), 150e-6)); // 650..800: the enqueue and the wait for gloo's all-reduce
  assert.ok(close(seconds('optimizer'), 150e-6));
  assert.deepEqual(second.sends?.length, 1);
});

test('a CUDA trace: kernels are the compute, NCCL kernels the transfers and collectives, placed by their launches', () => {
  // Kineto's shape for GPU activity: kernels on a stream, each with the correlation id of its cudaLaunchKernel.
  const host = (name: string, ts: number, dur: number, cat = 'cpu_op') => ({ name, ph: 'X', cat, ts, dur, pid: 1, tid: 1 });
  const launch = (ts: number, correlation: number) => ({ name: 'cudaLaunchKernel', ph: 'X', cat: 'cuda_runtime', ts, dur: 5, pid: 1, tid: 1, args: { correlation } });
  const kernel = (name: string, ts: number, dur: number, correlation: number) => ({ name, ph: 'X', cat: 'kernel', ts, dur, pid: 0, tid: 7, args: { correlation } });
  const step = (t: number, c: number) => [
    host('aten::mm', t, 20), launch(t + 1, c), kernel('sm90_gemm', t + 10, 300, c),
    host('nccl:send', t + 20, 5), launch(t + 21, c + 1), kernel('ncclDevKernel_SendRecv', t + 310, 100, c + 1),
    host('autograd::engine::evaluate_function: MmBackward0', t + 30, 20), launch(t + 31, c + 2), kernel('sm90_gemm_backward', t + 410, 400, c + 2),
    host('c10d::allreduce_', t + 60, 5), launch(t + 61, c + 3), kernel('ncclDevKernel_AllReduce_Sum_f32', t + 810, 90, c + 3),
    host('Optimizer.step#AdamW.step', t + 70, 900, 'user_annotation'), launch(t + 80, c + 4), kernel('multi_tensor_apply_kernel', t + 900, 60, c + 4),
  ];
  const [trace] = readTrace({ distributedInfo: { rank: 0 }, traceEvents: [...step(0, 0), ...step(1000, 10)] }, 'cuda.json', 0);
  const second = trace!.steps[1]!;
  const seconds = (kind: string) => second.spans.filter((span) => span.kind === kind).reduce((sum, span) => sum + span.end - span.start, 0);
  assert.ok(close(seconds('forward'), 300e-6) && close(seconds('backward'), 400e-6), `${seconds('forward')} ${seconds('backward')}`);
  assert.ok(close(seconds('p2p'), 100e-6) && close(seconds('collective'), 90e-6) && close(seconds('optimizer'), 60e-6));
});

test("Conveyor's own trace of a simulated step: the bubble per rank is the simulator's", () => {
  const cases: [ScheduleName, number, number, number][] = [['1f1b', 3, 6, 1], ['gpipe', 2, 4, 1], ['interleaved-1f1b', 2, 4, 2]];
  for (const [name, ranks, microbatches, chunks] of cases) {
    const schedule = generateSchedule(name, { ranks, microbatches, chunks });
    const stageSeconds = schedule.placement.map((rank) => 0.01 * (1 + rank)); // later ranks slower
    const costs: CostModel = {
      duration: { F: stageSeconds, B: stageSeconds.map((s) => 2 * s), I: stageSeconds, W: stageSeconds },
      commSeconds: new Array<number>(schedule.stages - 1).fill(0),
      activationBytes: new Array<number>(schedule.stages).fill(0),
    };
    const timeline = simulate(schedule, costs);
    const traces = readTrace(JSON.parse(JSON.stringify(toChromeTrace(schedule, timeline))), 'conveyor.json', 0);
    const result = diagnose(traces);
    assert.deepEqual(
      [result.inferred.schedule, result.inferred.ranks, result.inferred.microbatches, result.inferred.chunks], [name, ranks, microbatches, chunks],
    );
    result.ranks.forEach((rank, r) => {
      assert.ok(close(rank.bubbleFraction, timeline.bubbleFraction[r]!, 1e-6), `${name} rank ${r}: ${rank.bubbleFraction} vs ${timeline.bubbleFraction[r]}`);
      assert.ok(close(rank.simulatedBubbleFraction!, timeline.bubbleFraction[r]!, 1e-6));
    });
    assert.equal(result.slowest.rank, ranks - 1);
    // Balancing the stages is re-estimated by simulating every stage at the mean cost.
    const balanced = result.remedies.find((remedy) => remedy.change.startsWith('balance the stages'));
    const mean = stageSeconds.reduce((a, b) => a + b, 0) / stageSeconds.length;
    const even = simulate(schedule, { ...costs, duration: { F: stageSeconds.map(() => mean), B: stageSeconds.map(() => 2 * mean), I: stageSeconds.map(() => mean), W: stageSeconds.map(() => mean) } });
    assert.ok(balanced !== undefined && close(balanced.stepSeconds, even.makespan, 1e-6), `${balanced?.stepSeconds} vs ${even.makespan}`);
  }
});

test('real traces of PyTorch pipelining (2 gloo processes): p, m and the schedule found, parts add up, measured bubble above the schedule\'s', () => {
  // test/planner/fixtures/kineto: made by scripts/pipeline_traces.py (torch.distributed.pipelining under torch.profiler).
  for (const [schedule, expected] of [['GPipe', 'gpipe'], ['1F1B', '1f1b']] as const) {
    const result = diagnose([...readFixture(schedule, 0), ...readFixture(schedule, 1)]);
    assert.deepEqual([result.inferred.ranks, result.inferred.microbatches, result.inferred.chunks, result.inferred.schedule], [2, 4, 1, expected]);
    assert.deepEqual(result.steadySteps, [1, 2]);
    assert.ok(result.alignedClocks);
    assert.ok(close(result.theory!.bubbleFraction!, 1 / 5)); // (p − 1)/(m + p − 1)
    for (const rank of result.ranks) {
      assert.equal(rank.steps.length, 3);
      for (const step of rank.steps) {
        const parts = step.busy + step.idle.peers + step.idle.collectives + step.idle.optimizerOther;
        assert.ok(close(parts, step.seconds, 1e-9), `${schedule} rank ${rank.rank} step ${step.step}: ${parts} vs ${step.seconds}`);
        assert.ok(step.forward > 0 && step.backward > 0);
      }
      assert.ok(rank.bubbleFraction >= rank.simulatedBubbleFraction!, `${schedule} rank ${rank.rank}`);
    }
    const json = diagnosisJson(result) as { bubbleFraction: number[]; ranks: { steps: unknown[] }[] };
    assert.equal(json.bubbleFraction.length, 2);
    assert.equal(json.ranks[1]!.steps.length, 3);
  }
});

test("a real run of Conveyor's runtime (train --trace): every rank's bubble as its own actions give it", () => {
  // test/planner/fixtures/conveyor/train-1f1b.json: conveyor train --steps 3 --stages 2 --trace (the last step).
  const path = new URL('../../../test/planner/fixtures/conveyor/train-1f1b.json', import.meta.url).pathname;
  const json = JSON.parse(readFileSync(path, 'utf8')) as { traceEvents: { ph: string; tid: number; ts?: number; dur?: number }[] };
  const result = diagnose(readTrace(json, path, 0));
  assert.deepEqual([result.inferred.schedule, result.inferred.ranks, result.inferred.microbatches], ['1f1b', 2, 4]);
  const timed = json.traceEvents.filter((event) => event.ph === 'X');
  const start = Math.min(...timed.map((event) => event.ts!));
  const end = Math.max(...timed.map((event) => event.ts! + event.dur!));
  result.ranks.forEach((rank) => {
    const busy = timed.filter((event) => event.tid === rank.rank).reduce((sum, event) => sum + event.dur!, 0);
    assert.ok(close(rank.bubbleFraction, 1 - busy / (end - start), 1e-9));
    assert.ok(close(rank.steps[0]!.idle.peers, (end - start - busy) / 1e6, 1e-9)); // waiting is all a rank does besides compute
  });
});

test('conveyor diagnose: text and --json on the real traces; bad input is one line and exit 2', () => {
  const bin = new URL('../../../bin/conveyor.js', import.meta.url).pathname;
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'diagnose', ...args], { encoding: 'utf8' });
  const text = run(fixture('1F1B', 0), fixture('1F1B', 1));
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /2 ranks, 1f1b, 4 micro-batches/);
  assert.match(text.stdout, /what to change/);
  const json = run('--json', fixture('GPipe', 1), fixture('GPipe', 0));
  assert.equal(json.status, 0, json.stderr);
  assert.deepEqual((JSON.parse(json.stdout) as { ranks: { rank: number }[] }).ranks.map((rank) => rank.rank), [0, 1]);
  const folder = mkdtempSync(join(tmpdir(), 'conveyor-diagnose-'));
  const file = (name: string, body: string): string => {
    writeFileSync(join(folder, name), body);
    return join(folder, name);
  };
  const cases: [string[], RegExp][] = [
    [[join(folder, 'missing.json')], /missing\.json does not exist; give the Chrome trace of one rank/],
    [[file('broken.json', '{"traceEvents": [')], /is not valid JSON/],
    [[file('other.json', '{"a": 1}')], /is not a Chrome trace/],
    [[fixture('GPipe', 0), fixture('1F1B', 0)], /are both rank 0/],
    [[file('empty.json', '{"traceEvents": []}')], /no host operators/],
  ];
  for (const [args, message] of cases) {
    const result = run(...args);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stdout}`);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, message);
  }
});
