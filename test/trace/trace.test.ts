import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSchedule, isCompute, parseSchedule, simulate, uniformCosts, type Schedule } from '../../src/schedule/index.js';
import { drawSvg, drawTextGrid, toChromeTrace } from '../../src/trace/index.js';

function simulated(schedule: Schedule) {
  return simulate(schedule, uniformCosts(schedule, { F: 1, B: 2, I: 1, W: 1 }));
}

test('text grid: tokens at their start times, dots for idle, bubble and peak beside each rank', () => {
  const schedule = generateSchedule('1f1b', { ranks: 2, microbatches: 2 });
  const lines = drawTextGrid(schedule, simulated(schedule)).split('\n');
  // 4 columns per second. Rank 0: F0 0-1, F1 1-2, idle 2-4, B0 4-6, idle 6-7, B1 7-9.
  assert.equal(lines[1], 'rank 0 |0F0 0F1 ........0B0     ....0B1     | bubble  33.3%  peak 2');
  // Rank 1: idle 0-1, F0 1-2, B0 2-4, F1 4-5, B1 5-7, idle 7-9.
  assert.equal(lines[2], 'rank 1 |....1F0 1B0     1F1 1B1     ........| bubble  33.3%  peak 1');
});

test('text grid compresses a long timeline to kind letters sampled at each column\'s midpoint', () => {
  const schedule = generateSchedule('gpipe', { ranks: 2, microbatches: 2 });
  // makespan 9 over 9 columns: one second per column.
  const lines = drawTextGrid(schedule, simulated(schedule), { width: 9 }).split('\n');
  // Rank 0 waits for rank 1's B1 (3-5) before its own B1 (5-7) and B0 (7-9).
  assert.equal(lines[1], 'rank 0 |FF...BBBB| bubble  33.3%  peak 2');
  assert.equal(lines[2], 'rank 1 |.FFBBBB..| bubble  33.3%  peak 2');
  assert.match(lines[3]!, /^1 column = 1 s, letters are kinds/);
});

test('svg: a box per action coloured by kind, micro-batch numbers, lanes, legend, title, escaped names', () => {
  const schedule = parseSchedule('schedule a<b&c\nrank 0: 0F0 0F1 0I0 0W0 0I1 0W1\nrank 1: 1F0 1B0 1F1 1B1');
  const svg = drawSvg(schedule, simulated(schedule));
  const boxes = [...svg.matchAll(/<rect [^>]*fill="(#[0-9a-f]{6})"[^>]*><title>(\S+) /g)];
  assert.equal(boxes.length, 10);
  const colourOf = new Map(boxes.map((box) => [box[2]!.replace(/\d/g, ''), box[1]!]));
  assert.equal(new Set(colourOf.values()).size, 4, 'F, B, I and W each get their own colour');
  assert.equal((svg.match(/<text [^>]*fill="#ffffff">1<\/text>/g) ?? []).length, 5, 'micro-batch 1 is labelled in its five boxes');
  assert.equal((svg.match(/>rank \d<\/text>/g) ?? []).length, 2);
  assert.match(svg, /<text [^>]*>a&lt;b&amp;c · 2 ranks · 2 stages · 2 micro-batches · makespan /);
  for (const kind of ['F forward', 'B backward', 'I backward to input', 'W backward to weights']) assert.ok(svg.includes(`>${kind}</text>`));
  assert.match(svg, /bubble \d+\.\d% · peak 2/);
  const opened = (svg.match(/<(rect|text|line|svg|title)\b/g) ?? []).length;
  const closed = (svg.match(/<\/(rect|text|line|svg|title)>|\/>/g) ?? []).length;
  assert.equal(opened, closed, 'every element is closed');
});

test('chrome trace: one complete event per action on its rank\'s thread, in microseconds', () => {
  const schedule = generateSchedule('zb-v', { ranks: 2, microbatches: 2 });
  const timeline = simulated(schedule);
  const trace = JSON.parse(JSON.stringify(toChromeTrace(schedule, timeline)));
  const complete = trace.traceEvents.filter((event: { ph: string }) => event.ph === 'X');
  // Free messages take no time, so only compute is drawn.
  const compute = timeline.events.filter((event) => isCompute(event.action));
  assert.equal(complete.length, compute.length);
  compute.forEach((event, i) => {
    assert.equal(complete[i].tid, event.rank);
    assert.equal(complete[i].ts, event.start * 1e6);
    assert.equal(complete[i].dur, (event.end - event.start) * 1e6);
    assert.equal(complete[i].args.microbatch, event.action.microbatch);
  });
  const threadNames = trace.traceEvents.filter((event: { name: string }) => event.name === 'thread_name');
  assert.deepEqual(threadNames.map((event: { tid: number; args: { name: string } }) => [event.tid, event.args.name]), [[0, 'rank 0'], [1, 'rank 1']]);
});

test('svg on a shared span draws the same boxes narrower, so charts of different makespans compare', () => {
  const schedule = generateSchedule('1f1b', { ranks: 2, microbatches: 2 });
  const timeline = simulated(schedule); // makespan 9
  const widths = (svg: string) => [...svg.matchAll(/<rect x="[\d.]+" y="\d+" width="([\d.]+)" height="28" fill="#(?!eeeeee)/g)].map((m) => Number(m[1]));
  const own = widths(drawSvg(schedule, timeline));
  const shared = widths(drawSvg(schedule, timeline, { span: 18 }));
  assert.equal(own.length, 8);
  own.forEach((width, i) => assert.ok(Math.abs(shared[i]! - width / 2) < 0.02, `box ${i}: ${shared[i]} is half of ${width}`));
  // A span shorter than the makespan would push boxes off the axis, so the makespan wins.
  assert.deepEqual(widths(drawSvg(schedule, timeline, { span: 1 })), own);
});

test('svg at a moment: only what has started, cut at the cursor, and idle or finished ranks say so', () => {
  const schedule = generateSchedule('1f1b', { ranks: 2, microbatches: 2 });
  const timeline = simulated(schedule);
  // At t = 0.5 rank 0 runs 0F0 and rank 1 waits for its activation; at t = 8 rank 0 runs 0B1 and rank 1 is done.
  const early = drawSvg(schedule, timeline, { now: 0.5 });
  assert.deepEqual([...early.matchAll(/<title>(\S+) /g)].map((m) => m[1]), ['0F0']);
  assert.equal((early.match(/font-style="italic"[^>]*>idle</g) ?? []).length, 1);
  const late = drawSvg(schedule, timeline, { now: 8 });
  assert.equal([...late.matchAll(/<title>(\S+) /g)].length, 8);
  assert.match(late, />done<\/text>/);
  assert.doesNotMatch(late, />idle<\/text>/);
  assert.match(late, /<line x1="([\d.]+)" y1="58" x2="\1"/, 'a cursor line spans the lanes');
});
