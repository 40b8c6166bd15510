// The editor marks what the parser's and validator's own messages name: checked against the real messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import { parseSchedule, parseTorchCsv } from '../../src/schedule/index.js';
import { locateError } from '../../src/web/playground/error-location.js';

function messageOf(text: string): string {
  try {
    parseSchedule(text);
  } catch (error) {
    assert.ok(error instanceof UsageError);
    return error.message;
  }
  assert.fail('the schedule parsed');
}

/** The span the editor would mark for `text`'s first problem, as the marked characters and their line. */
function marked(text: string): { line: number; span: string } {
  const where = locateError(text, messageOf(text));
  assert.ok(where, `located: ${messageOf(text)}`);
  return { line: where.line, span: text.split('\n')[where.line]!.slice(where.start, where.end) };
}

test('a deadlock is marked at the action the stuck rank cannot get past', () => {
  assert.deepEqual(marked('rank 0: 0F0 0F1 0B0 0B1\nrank 1: 1F1 1F0 1B0 1B1'), { line: 0, span: '0F1' });
  // On one rank: a backward listed before its own forward.
  assert.deepEqual(marked('schedule x\nrank 0: 0B0 0F0 # wrong way round'), { line: 1, span: '0B0' });
});

test('an unreadable token, a repeated action and a split stage are marked where they are written', () => {
  assert.deepEqual(marked('rank 0: 0F0 0X0 0B0'), { line: 0, span: '0X0' });
  assert.deepEqual(marked('rank 0: 0F0 0F0 0B0'), { line: 0, span: '0F0' });
  const repeated = 'rank 0: 0F0 0F0 0B0';
  assert.equal(locateError(repeated, messageOf(repeated))?.start, 12, 'the second 0F0, not the first');
  assert.deepEqual(marked('rank 0: 0F0 1F0 0B0\nrank 1: 1F1 1B1'), { line: 1, span: '1F1' });
});

test('a missing action marks the line of the rank that lacks it; a line that is not a rank line is marked whole', () => {
  assert.deepEqual(marked('rank 0: 0F0 0F1 0B0\nrank 1: 1F0 1B0 1F1 1B1'), { line: 0, span: 'rank 0: 0F0 0F1 0B0' });
  assert.deepEqual(marked('rank 0: 0F0 0B0\nrnak 1: 1F0'), { line: 1, span: 'rnak 1: 1F0' });
});

test('in a PyTorch CSV a bad cell and a deadlock are marked in their row', () => {
  const csvMessage = (text: string): string => {
    try {
      parseTorchCsv(text);
    } catch (error) {
      return (error as Error).message;
    }
    assert.fail('the CSV parsed');
  };
  const bad = '0F0,0X1,0B0\n';
  const cell = locateError(bad, csvMessage(bad), 'csv')!;
  assert.equal(bad.slice(cell.start, cell.end), '0X1');
  const stuck = '0F0,0F1,0B0,0B1\n1F1,1F0,1B0,1B1\n';
  const where = locateError(stuck, csvMessage(stuck), 'csv')!;
  assert.deepEqual([where.line, stuck.split('\n')[0]!.slice(where.start, where.end)], [0, '0F1']);
});
