// PyTorch pipelining's schedule CSV, checked against what PyTorch 2.13 itself prints for the same schedules
// (ScheduleDualPipeV, ScheduleZBVZeroBubble, ScheduleInterleaved1F1B: their _dump_csv output, copied here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UsageError } from '../../src/errors.js';
import { formatTorchCsv, generateSchedule, parseTorchCsv } from '../../src/schedule/index.js';
import { generatedSchedule } from './arbitrary.js';

// ScheduleDualPipeV, 2 ranks, 4 micro-batches: _dump_csv(format="compute_only").
const dualPipeVComputeOnly = [
  '0F0,0F1,0F2,3F0,3I0,3W0,3F1,(0F3;3B1)OVERLAP_F_B,(3F2;0B0)OVERLAP_F_B,3B2,(3F3;0B1)OVERLAP_F_B,3B3,0I2,0W2,0I3,0W3',
  '1F0,2F0,1F1,2F1,1F2,2B0,(2F2;1B0)OVERLAP_F_B,(1F3;2B1)OVERLAP_F_B,(2F3;1B1)OVERLAP_F_B,2B2,1B2,2I3,1I3,2W3,1W3',
].join('\n') + '\n';

// The same schedule after PyTorch's lowering: _dump_csv(format="compute_comms").
const dualPipeVComputeComms = [
  '0UNSHARD,3UNSHARD,0F0,0SEND_F0,0F1,0SEND_F1,3RECV_F0,0F2,0SEND_F2,3F0,3RECV_F1,3I0,3SEND_B0,3W0,3F1,3RECV_F2,0RECV_B0,(0F3;3B1)OVERLAP_F_B,0SEND_F3,3SEND_B1,(3F2;0B0)OVERLAP_F_B,3RECV_F3,0RECV_B1,3B2,3SEND_B2,(3F3;0B1)OVERLAP_F_B,0RECV_B2,3B3,3SEND_B3,3REDUCE_GRAD,0RECV_B3,3RESHARD,0I2,0W2,0I3,0W3,0REDUCE_GRAD,0RESHARD',
  '1UNSHARD,2UNSHARD,1RECV_F0,1F0,1RECV_F1,2F0,2SEND_F0,1RECV_F2,1F1,2F1,2SEND_F1,2RECV_B0,1F2,2B0,(2F2;1B0)OVERLAP_F_B,2SEND_F2,1SEND_B0,1RECV_F3,2RECV_B1,(1F3;2B1)OVERLAP_F_B,(2F3;1B1)OVERLAP_F_B,2SEND_F3,1SEND_B1,2RECV_B2,2B2,1B2,1SEND_B2,2RECV_B3,2I3,1I3,1SEND_B3,2W3,2REDUCE_GRAD,2RESHARD,1W3,1REDUCE_GRAD,1RESHARD',
].join('\r\n') + '\r\n';

// ScheduleZBVZeroBubble, 2 ranks, 3 micro-batches, and ScheduleInterleaved1F1B, 2 ranks, 4 micro-batches (compute_only; empty cells are idle steps).
const zeroBubbleV = '0F0,0F1,0F2,3F0,3I0,3W0,3F1,3I1,3W1,0I0,0W0,3F2,3I2,3W2,0I1,0W1,0I2,0W2\n,1F0,2F0,1F1,2F1,2I0,2W0,1F2,1I0,1W0,2F2,2I1,2W1,1I1,2I2,1I2,1W1,2W2,1W2\n';
const interleaved = '0F0,0F1,2F0,2F1,,,0F2,2B0,0F3,2B1,2F2,0B0,2F3,0B1,,2B2,,2B3,,0B2,,0B3\n,1F0,1F1,,3F0,3B0,3F1,3B1,1F2,1B0,1F3,1B1,3F2,3B2,3F3,3B3,,1B2,,1B3\n';

function refusal(text: string): string {
  try {
    parseTorchCsv(text);
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    assert.equal(error.message.split('\n').length, 1);
    return error.message;
  }
  assert.fail(`accepted ${JSON.stringify(text)}`);
}

test('dualpipe-v is written exactly as PyTorch writes ScheduleDualPipeV, overlapped pairs included', () => {
  const schedule = generateSchedule('dualpipe-v', { ranks: 2, microbatches: 4 });
  assert.equal(formatTorchCsv(schedule), dualPipeVComputeOnly);
  assert.deepEqual(parseTorchCsv(dualPipeVComputeOnly, 'dualpipe-v'), schedule);
});

test("PyTorch's compute_comms dump reads back as the compute schedule: communication checked, pairs kept", () => {
  assert.deepEqual(parseTorchCsv(dualPipeVComputeComms, 'dualpipe-v'), generateSchedule('dualpipe-v', { ranks: 2, microbatches: 4 }));
});

test("PyTorch's ZBVZeroBubble and Interleaved1F1B orders are Conveyor's zb-v and interleaved-1f1b; idle cells are skipped", () => {
  assert.deepEqual(parseTorchCsv(zeroBubbleV, 'zb-v'), generateSchedule('zb-v', { ranks: 2, microbatches: 3 }));
  assert.deepEqual(parseTorchCsv(interleaved, 'interleaved-1f1b'), generateSchedule('interleaved-1f1b', { ranks: 2, microbatches: 4 }));
  assert.equal(formatTorchCsv(generateSchedule('zb-v', { ranks: 2, microbatches: 3 })), zeroBubbleV.replace('\n,', '\n'));
});

test('every generated schedule round-trips through the CSV', () => {
  fc.assert(
    fc.property(generatedSchedule(), (schedule) => {
      assert.deepEqual(parseTorchCsv(formatTorchCsv(schedule), schedule.name), schedule);
    }),
    { numRuns: 100 },
  );
});

test('a cell that is not whole is refused with its row, column and what would be right', () => {
  const cases: [string, RegExp][] = [
    ['0F0,0F1junk,0B0,0B1', /^row 1 \(rank 0\), column 2: cannot read '0F1junk': expected <stage><F\|B\|I\|W><microbatch> such as 0F3/],
    ['0F0,0B0\n1F0,1X0', /^row 2 \(rank 1\), column 2: cannot read '1X0'/],
    ['0F0, 0B0', /column 2: cannot read ' 0B0'/],
    ['0F,0B0', /column 1: cannot read '0F'/],
    ['0SEND_F,0B0', /column 1: cannot read '0SEND_F'/],
    ['0REDUCE_GRAD3,0B0', /column 1: cannot read '0REDUCE_GRAD3'/],
    ['(0B0;1F0)OVERLAP_F_B', /cannot read '\(0B0;1F0\)OVERLAP_F_B'/],
    ['(0F0;1B0;2B0)OVERLAP_F_B', /cannot read/],
    [`0F0,${'9'.repeat(40)}F0`, /cannot read '9{24}…'/],
    ['0F0,"\u0001"', /cannot read '"\\u0001"'/],
    ['', /no rows/],
  ];
  for (const [text, expected] of cases) assert.match(refusal(text), expected, text);
});

test('communication cells must agree with the compute around them', () => {
  const rows = dualPipeVComputeComms.trimEnd().split('\r\n');
  const edit = (rank: number, change: (cells: string[]) => string[]): string =>
    rows.map((row, r) => (r === rank ? change(row.split(',')).join(',') : row)).join('\n');
  const without = (cell: string) => (cells: string[]) => cells.filter((c) => c !== cell);
  const cases: [string, RegExp][] = [
    [edit(1, without('1RECV_F2')), /rank 1 never runs 1RECV_F2 before 1F2/],
    [edit(0, without('0SEND_F1')), /rank 0 never runs 0SEND_F1: 0F1's activation must go to rank 1/],
    [edit(0, (cells) => ['0SEND_F0', ...cells.filter((c) => c !== '0SEND_F0')]), /rank 0 runs 0SEND_F0, but it comes before 0F0, which produces what it sends/],
    [edit(0, (cells) => [...cells, '0RECV_B3']), /rank 0 runs 0RECV_B3, but/],
    [edit(0, without('3REDUCE_GRAD')), /rank 0 never runs 3REDUCE_GRAD/],
    [edit(0, without('0RESHARD')), /rank 0 never reshards stage 0: end its row with 0RESHARD/],
    [edit(0, without('0UNSHARD')), /rank 0 runs 0F0 while stage 0 is sharded: put 0UNSHARD before it/],
    [edit(0, (cells) => ['1UNSHARD', ...cells]), /column 1: 1UNSHARD on rank 0, but stage 1 runs on rank 1/],
  ];
  for (const [text, expected] of cases) assert.match(refusal(text), expected);
});
