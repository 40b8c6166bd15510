import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import {
  formatAction,
  formatSchedule,
  generateSchedule,
  parseAction,
  parseSchedule,
  scheduleFromJson,
  catalogueNames,
  scheduleToJson,
} from '../../src/schedule/index.js';

test('action tokens: stage, kind, micro-batch', () => {
  assert.deepEqual(parseAction('12B7'), { kind: 'B', stage: 12, microbatch: 7 });
  assert.equal(formatAction({ kind: 'W', stage: 3, microbatch: 40 }), '3W40');
  for (const bad of ['F3', '0X3', '0F', '0 F3', '-1F2', '0f3']) assert.throws(() => parseAction(bad), UsageError);
});

test('the text form reads as documented', () => {
  const text = ['# two ranks by hand', 'schedule mine', 'rank 0: 0F0 0F1 0B0 0B1', '', 'rank 1: 1F0 1B0 1F1 1B1  # last stage', ''].join('\n');
  const schedule = parseSchedule(text);
  assert.equal(schedule.name, 'mine');
  assert.equal(schedule.ranks, 2);
  assert.equal(schedule.stages, 2);
  assert.equal(schedule.microbatches, 2);
  assert.deepEqual(schedule.placement, [0, 1]);
  assert.deepEqual(schedule.order[1]![2], { kind: 'F', stage: 1, microbatch: 1 });
});

test('every generated schedule survives text and JSON round trips unchanged', () => {
  for (const name of catalogueNames) {
    const schedule = generateSchedule(name, { ranks: 4, microbatches: 8 });
    assert.deepEqual(parseSchedule(formatSchedule(schedule)), schedule, name);
    assert.deepEqual(scheduleFromJson(JSON.parse(JSON.stringify(scheduleToJson(schedule)))), schedule, name);
  }
});

test('the JSON form carries each rank\'s order as one token string', () => {
  const json = scheduleToJson(generateSchedule('1f1b', { ranks: 2, microbatches: 2 }));
  assert.deepEqual(json, {
    name: '1f1b',
    ranks: 2,
    stages: 2,
    microbatches: 2,
    placement: [0, 1],
    order: ['0F0 0F1 0B0 0B1', '1F0 1B0 1F1 1B1'],
  });
});

test('text errors name the line and what is expected', () => {
  const cases: [string, RegExp][] = [
    ['rank 0: 0F0 0B0\nrank 1: 1F0 1Q0', /line 2: cannot read action '1Q0'/],
    ['rank 0 0F0', /line 1: expected 'rank <n>: <actions>'/],
    ['rank 0: 0F0 0B0\nrank 0: 0F1', /line 2: rank 0 is listed twice/],
    ['rank 1: 0F0 0B0', /rank 0 is missing/],
    ['rank 0: 0F0 0B0 1F0\nrank 1: 1B0', /stage 1 runs on rank 0 and on rank 1/],
    ['rank 0: 0F0 0B0 2F0 2B0', /stage 1 has no actions/],
    ['', /no 'rank <n>: <actions>' lines found/],
    ['rank 0: 0F0\nschedule late', /must come before the rank lines/],
    ['rank 0: 0F0 0F1 0B0', /never runs the backward of stage 0 micro-batch 1/],
  ];
  for (const [text, expected] of cases) assert.throws(() => parseSchedule(text), (error: unknown) => error instanceof UsageError && expected.test(error.message), text);
});

test('JSON errors name the field', () => {
  const good = scheduleToJson(generateSchedule('gpipe', { ranks: 2, microbatches: 2 }));
  const cases: [unknown, RegExp][] = [
    [{ ...good, microbatches: 0 }, /^schedule JSON: microbatches: expected a whole number ≥ 1, got 0$/],
    [{ ...good, order: 'nope' }, /^schedule JSON: order: expected a list, got "nope"$/],
    [{ ...good, placement: [0, -1] }, /^schedule JSON: placement\[1\]: expected a whole number ≥ 0, got -1$/],
    [[], /^schedule JSON: expected an object, got a list$/],
    [{ ...good, order: ['0F0 0F1 0B1 0B0', '1F0 1F1 1B1'] }, /never runs the backward of stage 1 micro-batch 0/],
  ];
  for (const [value, expected] of cases) assert.throws(() => scheduleFromJson(value), (error: unknown) => error instanceof UsageError && expected.test(error.message));
});
