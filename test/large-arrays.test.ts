/**
 * Spreading an array into a call (`Math.min(...values)`) overflows the stack beyond about 120 000 elements.
 * Every place that reduces an array the user can make that long must loop instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleToken } from '../src/data/sampling.js';
import { SplitMix32 } from '../src/data/random.js';
import { extent } from '../src/planner/diagnose/spans.js';
import { parseSchedule, type Schedule, type Timeline } from '../src/schedule/index.js';
import { drawSvg, drawTextGrid } from '../src/trace/index.js';

const many = 300_000; // well past V8's argument limit

/** One forward per rank, rank r running from r to r + 1 (a long diagonal). */
function diagonal(ranks: number): { schedule: Schedule; timeline: Timeline } {
  const order = Array.from({ length: ranks }, (_, rank) => [{ kind: 'F' as const, stage: rank, microbatch: 0 }]);
  const schedule: Schedule = { name: 'diagonal', ranks, stages: ranks, microbatches: 1, placement: order.map((_, rank) => rank), order };
  const events = order.map(([action], rank) => ({ rank, action: action!, start: rank, end: rank + 1 }));
  const perRank = new Array<number>(ranks).fill(0);
  const timeline: Timeline = {
    events,
    makespan: ranks,
    busy: perRank.map(() => 1),
    bubbleFraction: perRank.map(() => 1 - 1 / ranks),
    peakActivations: perRank.map(() => 1),
    peakActivationBytes: perRank,
  };
  return { schedule, timeline };
}

test('the text grid and the SVG draw a timeline of 300 000 ranks', () => {
  const { schedule, timeline } = diagonal(many);
  const grid = drawTextGrid(schedule, timeline, { width: 20 });
  assert.equal(grid.split('\n').length, many + 3); // title, a row per rank, the legend, the final newline
  assert.match(drawSvg(schedule, timeline), /rank 299999/);
});

test('a schedule file of 300 000 rank lines is read', () => {
  const lines = Array.from({ length: many }, (_, rank) => `rank ${rank}: ${rank}F0 ${rank}B0`);
  const schedule = parseSchedule(lines.join('\n'), 'long');
  assert.equal(schedule.ranks, many);
});

test('sampling draws from a vocabulary of 300 000 symbols', () => {
  const probabilities = new Float32Array(many);
  probabilities[many - 1] = 1;
  assert.equal(sampleToken(probabilities, 1, new SplitMix32(1)), many - 1);
});

test('a trace of 300 000 spans has an extent (diagnose read the spans of a step, and a trace\'s events, by spreading them)', () => {
  const spans = Array.from({ length: many }, (_, i) => ({ start: i + 1, end: i + 3 }));
  assert.deepEqual(extent(spans), { start: 1, end: many + 2 });
});
