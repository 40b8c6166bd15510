// With uniform costs and free messages the simulator must reproduce the published formulas exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSchedule, isCompute, simulate, uniformCosts, type ScheduleName, type Timeline } from '../../src/schedule/index.js';

const fullBackward = { F: 1, B: 2, I: 1, W: 1 }; // B = I + W, and F = I = W
const tolerance = 1e-12;

function run(name: ScheduleName, ranks: number, microbatches: number, chunks?: number) {
  const schedule = generateSchedule(name, { ranks, microbatches, chunks });
  return simulate(schedule, uniformCosts(schedule, fullBackward));
}

function assertClose(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} ≠ ${expected}`);
}

const sizes: [number, number][] = [];
for (const p of [1, 2, 3, 4, 5, 8]) for (const m of [1, 2, 3, 4, 7, 8, 16, 33]) sizes.push([p, m]);

test('gpipe and 1f1b: bubble (p-1)/(m+p-1) on every rank, makespan (m+p-1)(F+B)', () => {
  for (const name of ['gpipe', '1f1b'] as const) {
    for (const [p, m] of sizes) {
      const timeline = run(name, p, m);
      assert.equal(timeline.makespan, (m + p - 1) * 3, `${name} p=${p} m=${m}`);
      for (const fraction of timeline.bubbleFraction) assertClose(fraction, (p - 1) / (m + p - 1), `${name} p=${p} m=${m}`);
    }
  }
});

test('1f1b peak stash on rank r is min(p-r, m); gpipe holds all m', () => {
  for (const [p, m] of sizes) {
    assert.deepEqual(run('1f1b', p, m).peakActivations, Array.from({ length: p }, (_, r) => Math.min(p - r, m)));
    assert.deepEqual(run('gpipe', p, m).peakActivations, new Array(p).fill(m));
  }
});

test('naive: every rank idle (p-1)/p of the time, one activation at a time', () => {
  for (const [p, m] of sizes) {
    const timeline = run('naive', p, m);
    assert.equal(timeline.makespan, p * m * 3);
    for (const fraction of timeline.bubbleFraction) assertClose(fraction, (p - 1) / p, `naive p=${p} m=${m}`);
    assert.deepEqual(timeline.peakActivations, new Array(p).fill(1));
  }
});

test('interleaved-1f1b: bubble (p-1)/(v·m+p-1) when each chunk costs 1/v of a full stage', () => {
  for (const p of [2, 3, 4, 5]) {
    for (const groups of [1, 2, 3]) {
      for (const v of [2, 3, 4]) {
        const m = p * groups;
        const timeline = run('interleaved-1f1b', p, m, v);
        assertClose(timeline.makespan, m * 3 + ((p - 1) * 3) / v, `makespan p=${p} m=${m} v=${v}`);
        for (const fraction of timeline.bubbleFraction) {
          assertClose(fraction, (p - 1) / (v * m + p - 1), `bubble p=${p} m=${m} v=${v}`);
        }
      }
    }
  }
});

test('interleaved-1f1b rank 0 stashes p(1 + (p-1)/(pv)) micro-batches\' worth, the Megatron paper\'s factor', () => {
  for (const p of [2, 3, 4, 5]) {
    for (const v of [2, 3, 4]) {
      const timeline = run('interleaved-1f1b', p, 2 * p, v);
      assertClose(timeline.peakActivations[0]!, p * (1 + (p - 1) / (p * v)), `p=${p} v=${v}`);
    }
  }
});

test('zb-h1 with F = I = W: one third of 1f1b\'s idle time, the same peak stash as 1f1b', () => {
  for (const [p, m] of sizes) {
    if (m < p) continue; // the one-third result needs a full steady state
    const zeroBubble = run('zb-h1', p, m);
    const oneForwardOneBackward = run('1f1b', p, m);
    for (let r = 0; r < p; r++) {
      const idle = zeroBubble.makespan - zeroBubble.busy[r]!;
      const baseline = oneForwardOneBackward.makespan - oneForwardOneBackward.busy[r]!;
      assert.equal(idle * 3, baseline, `p=${p} m=${m} rank ${r}`);
      if (p > 1) assert.ok(zeroBubble.bubbleFraction[r]! < oneForwardOneBackward.bubbleFraction[r]!);
    }
    assert.equal(Math.max(...zeroBubble.peakActivations), Math.max(...oneForwardOneBackward.peakActivations));
    assert.deepEqual(zeroBubble.peakActivations, new Array(p).fill(p)); // every rank holds up to p, as rank 0 does in 1f1b
  }
});

test('zb-h1 never idles more than 1f1b, even with fewer micro-batches than ranks', () => {
  for (const [p, m] of sizes) {
    const zeroBubble = run('zb-h1', p, m);
    const baseline = run('1f1b', p, m);
    assert.ok(zeroBubble.makespan <= baseline.makespan, `p=${p} m=${m}`);
    assert.ok(Math.max(...zeroBubble.peakActivations) <= Math.max(...baseline.peakActivations));
  }
});

test('zb-v with F = I = W: idle (p-1)/2 chunk-steps only, below zb-h1, peak p micro-batches\' worth like 1f1b', () => {
  for (const [p, m] of sizes) {
    if (m < 2 * p) continue; // the V warm-up needs 2p-1 micro-batches in flight
    const timeline = run('zb-v', p, m);
    for (const busy of timeline.busy) assert.equal(timeline.makespan - busy, (p - 1) / 2, `p=${p} m=${m}`);
    if (p > 1) assert.ok(timeline.makespan < run('zb-h1', p, m).makespan);
    assert.deepEqual(timeline.peakActivations, new Array(p).fill(p));
  }
});

/** Idle time on the first rank between its first action and its last: what the published bubble formulas count. */
function firstRankBubble(timeline: Timeline): number {
  const events = timeline.events.filter((event) => event.rank === 0 && isCompute(event.action));
  let first = Infinity;
  let last = 0;
  for (const event of events) {
    first = Math.min(first, event.start);
    last = Math.max(last, event.end);
  }
  return last - first - timeline.busy[0]!;
}

/** Per-rank durations from per-chunk F, I and W (B = I + W) for a schedule with `chunks` chunks per rank. */
const perRank = (F: number, I: number, W: number, chunks: number) => ({ F: F * chunks, B: (I + W) * chunks, I: I * chunks, W: W * chunks });

// Costs in quarter seconds (exact in binary), with W no longer than F or I, the regime the handcrafted schedules are drawn for.
const splitCosts: [number, number, number][] = [[1, 1, 1], [1, 2, 1], [2, 1, 1], [1, 1, 0.5], [1.5, 2, 1], [1, 1.25, 0.75]];

test('zero-bubble paper, table 1: bubbles (p-1)(F+B+W), (p-1)(F+B-W), (p-1)(F+B-2W) for 1f1b, zb-h1, zb-h2 (B here is I)', () => {
  for (const [F, I, W] of splitCosts) {
    for (const p of [1, 2, 3, 4, 5, 8]) {
      for (const m of [2 * p, 2 * p + 3, 4 * p]) {
        const formulas = { '1f1b': (p - 1) * (F + I + W), 'zb-h1': (p - 1) * (F + I - W), 'zb-h2': (p - 1) * (F + I - 2 * W) } as const;
        for (const [name, expected] of Object.entries(formulas) as [ScheduleName, number][]) {
          const schedule = generateSchedule(name, { ranks: p, microbatches: m });
          const timeline = simulate(schedule, uniformCosts(schedule, perRank(F, I, W, 1)));
          assertClose(firstRankBubble(timeline), expected, `${name} p=${p} m=${m} F=${F} I=${I} W=${W}`);
        }
      }
    }
  }
});

test('zb-h2 holds (2p-1) micro-batches of activations on every rank, the paper\'s (2p-1)M_B: about twice 1f1b\'s p', () => {
  for (const [p, m] of sizes) {
    const timeline = run('zb-h2', p, m);
    assert.deepEqual(timeline.peakActivations, new Array(p).fill(Math.min(2 * p - 1, m)), `p=${p} m=${m}`);
  }
});

test('dualpipe-v, DualPipe table: bubble (PP/2-1)(F&B+B-3W) with PP = 2p stages, F&B = F + B; activations PP+1 chunks', () => {
  // The table's derivation takes the backward for inputs as long as the forward (I = F) and W ≤ F.
  for (const [F, W] of [[1, 1], [1, 0.5], [2, 1], [1.5, 0.75], [2, 0.5]] as const) {
    const I = F;
    const B = I + W;
    for (const p of [1, 2, 3, 4, 5, 8]) {
      for (const m of [2 * p, 2 * p + 1, 3 * p, 5 * p]) {
        const schedule = generateSchedule('dualpipe-v', { ranks: p, microbatches: m });
        const timeline = simulate(schedule, uniformCosts(schedule, perRank(F, I, W, 2)));
        const what = `p=${p} m=${m} F=${F} W=${W}`;
        assertClose(firstRankBubble(timeline), (p - 1) * (F + B + B - 3 * W), what);
        // PP + 1 chunk activations, each half of a rank's micro-batch.
        assert.deepEqual(timeline.peakActivations, new Array(p).fill((2 * p + 1) / 2), what);
      }
    }
  }
});
