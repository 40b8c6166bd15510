/**
 * PyTorch pipelining's schedule CSV (`_load_csv`, `_dump_csv` in torch/distributed/pipelining/schedules.py):
 * one row per rank, no header, one action per cell with the global stage first (`0F3`, `1I2`, `1W2`, `0B1`),
 * an empty cell for an idle step. The compute_only form holds compute alone; the compute_comms form (what
 * `_dump_csv` writes after lowering) adds `1RECV_F3`, `0SEND_B2`, `0UNSHARD`, `0RESHARD`, `0REDUCE_GRAD` and
 * overlapped pairs `(0F7;7B3)OVERLAP_F_B`.
 *
 * Reading keeps the compute actions (an overlapped pair as its two actions, in order) and checks the
 * communication cells against them: sends after their producer, receives before their consumer, each
 * message sent and received once on the right ranks, REDUCE_GRAD once per stage after its last backward,
 * UNSHARD/RESHARD alternating with every compute of the stage inside an unsharded span. PyTorch's own parser
 * matches a prefix and accepts `0F3junk`; this one refuses any cell it cannot read whole, naming its row
 * (rank + 1), column and what would be right.
 */
import { UsageError } from '../errors.js';
import { quote } from '../quote.js';
import { action, commAction, formatAction, isCompute } from './actions.js';
import { indexLowered } from './lowered-structure.js';
import { computeScheduleOf, shapeOfOrder } from './text.js';
import type { Action, ActionKind, LoweredAction, LoweredSchedule, Schedule } from './types.js';

/** The compute_only CSV of any schedule: each rank's actions in order, no idle cells, overlapped pairs as OVERLAP_F_B. */
export function formatTorchCsv(schedule: Schedule): string {
  const rows = schedule.order.map((actions, rank) => {
    const pairs = new Set(schedule.overlaps?.[rank] ?? []);
    const cells: string[] = [];
    for (let position = 0; position < actions.length; position++) {
      if (!pairs.has(position)) {
        cells.push(formatAction(actions[position]!));
        continue;
      }
      cells.push(`(${formatAction(actions[position]!)};${formatAction(actions[position + 1]!)})OVERLAP_F_B`);
      position++;
    }
    return cells.join(',');
  });
  return rows.join('\n') + '\n';
}

const computeCell = /^(\d+)([FBIW])(\d+)$/;
const pointToPointCell = /^(\d+)(SEND_F|RECV_F|SEND_B|RECV_B)(\d+)$/;
const perStepCell = /^(\d+)(UNSHARD|RESHARD|REDUCE_GRAD)$/;
const overlapCell = /^\(([^;()]*);([^;()]*)\)OVERLAP_F_B$/;
const expected =
  'expected <stage><F|B|I|W><microbatch> such as 0F3, <stage>SEND_F|RECV_F|SEND_B|RECV_B<microbatch> such as 1RECV_F3, <stage>UNSHARD|RESHARD|REDUCE_GRAD, (<F>;<B or I>)OVERLAP_F_B such as (0F7;7B3)OVERLAP_F_B, or an empty cell for idle';

function number(text: string): number | undefined {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

type Cell =
  | { readonly kind: 'compute'; readonly actions: readonly Action[] }
  | { readonly kind: 'comm'; readonly action: LoweredAction }
  | { readonly kind: 'shard'; readonly stage: number; readonly unshard: boolean }
  | { readonly kind: 'idle' };

function readCompute(text: string): Action | undefined {
  const match = computeCell.exec(text);
  if (match === null) return undefined;
  const stage = number(match[1]!);
  const microbatch = number(match[3]!);
  return stage === undefined || microbatch === undefined ? undefined : action(match[2] as ActionKind, stage, microbatch);
}

function readCell(raw: string): Cell | undefined {
  // csv.writer quotes a cell only when it holds a delimiter or a quote; accept that form too.
  const text = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw;
  if (text.trim() === '') return { kind: 'idle' };
  const compute = readCompute(text);
  if (compute !== undefined) return { kind: 'compute', actions: [compute] };
  const overlap = overlapCell.exec(text);
  if (overlap !== null) {
    const forward = readCompute(overlap[1]!);
    const backward = readCompute(overlap[2]!);
    if (forward?.kind !== 'F' || (backward?.kind !== 'B' && backward?.kind !== 'I')) return undefined;
    return { kind: 'compute', actions: [forward, backward] };
  }
  const pointToPoint = pointToPointCell.exec(text);
  if (pointToPoint !== null) {
    const stage = number(pointToPoint[1]!);
    const microbatch = number(pointToPoint[3]!);
    if (stage === undefined || microbatch === undefined) return undefined;
    return { kind: 'comm', action: commAction(pointToPoint[2] as 'SEND_F', stage, microbatch) };
  }
  const perStep = perStepCell.exec(text);
  if (perStep !== null) {
    const stage = number(perStep[1]!);
    if (stage === undefined) return undefined;
    if (perStep[2] === 'REDUCE_GRAD') return { kind: 'comm', action: commAction('REDUCE_GRAD', stage) };
    return { kind: 'shard', stage, unshard: perStep[2] === 'UNSHARD' };
  }
  return undefined;
}

interface ReadRows {
  /** [rank] compute and point-to-point communication in order. */
  readonly order: LoweredAction[][];
  /** [rank] positions in the compute-only order where an overlapped pair starts. */
  readonly pairs: number[][];
  /** [rank] per rank: (position in order of the next action, stage, unshard?) for each UNSHARD/RESHARD. */
  readonly sharding: { position: number; stage: number; unshard: boolean; column: number }[][];
}

function readRows(text: string): ReadRows {
  const lines = text.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop(); // the line ending of the last row
  if (lines.every((line) => line.trim() === '')) throw new UsageError('no rows: a schedule CSV has one row of actions per rank');
  const order: LoweredAction[][] = [];
  const pairs: number[][] = [];
  const sharding: ReadRows['sharding'] = [];
  lines.forEach((line, rank) => {
    const actions: LoweredAction[] = [];
    const starts: number[] = [];
    let computed = 0; // compute actions so far on this row
    const shards: ReadRows['sharding'][number] = [];
    line.split(',').forEach((raw, column) => {
      const cell = readCell(raw);
      if (cell === undefined) throw new UsageError(`row ${rank + 1} (rank ${rank}), column ${column + 1}: cannot read ${quote(raw, 24)}: ${expected}`);
      if (cell.kind === 'compute') {
        if (cell.actions.length === 2) starts.push(computed);
        actions.push(...cell.actions);
        computed += cell.actions.length;
      } else if (cell.kind === 'comm') actions.push(cell.action);
      else if (cell.kind === 'shard') shards.push({ position: actions.length, stage: cell.stage, unshard: cell.unshard, column: column + 1 });
    });
    order.push(actions);
    pairs.push(starts);
    sharding.push(shards);
  });
  return { order, pairs, sharding };
}

/** UNSHARD and RESHARD of a stage alternate on its own rank, and the stage computes only while unsharded. */
function checkSharding(order: readonly (readonly LoweredAction[])[], sharding: ReadRows['sharding'], placement: readonly number[]): void {
  sharding.forEach((shards, rank) => {
    if (shards.length === 0) return;
    const where = (column: number): string => `row ${rank + 1} (rank ${rank}), column ${column}`;
    const unsharded = new Map<number, boolean>(); // stage -> whether its parameters are gathered now
    let next = 0;
    const computeUpTo = (position: number): void => {
      for (; next < position; next++) {
        const a = order[rank]![next]!;
        if (isCompute(a) && unsharded.get(a.stage) !== true) {
          throw new UsageError(`rank ${rank} runs ${formatAction(a)} while stage ${a.stage} is sharded: put ${a.stage}UNSHARD before it`);
        }
      }
    };
    for (const { position, stage, unshard, column } of shards) {
      computeUpTo(position);
      if (placement[stage] !== rank) throw new UsageError(`${where(column)}: ${stage}${unshard ? 'UNSHARD' : 'RESHARD'} on rank ${rank}, but stage ${stage} runs on rank ${placement[stage] ?? 'none'}`);
      if ((unsharded.get(stage) === true) === unshard) {
        throw new UsageError(`${where(column)}: ${stage}${unshard ? 'UNSHARD' : 'RESHARD'} twice in a row; UNSHARD and RESHARD of a stage alternate, starting with UNSHARD`);
      }
      unsharded.set(stage, unshard);
    }
    computeUpTo(order[rank]!.length);
    for (const [stage, gathered] of unsharded) {
      if (gathered) throw new UsageError(`rank ${rank} never reshards stage ${stage}: end its row with ${stage}RESHARD`);
    }
  });
}

/** Reads either CSV form; returns the compute schedule, validated as every schedule is. */
export function parseTorchCsv(text: string, name = 'custom'): Schedule {
  const { order, pairs, sharding } = readRows(text);
  const shape = shapeOfOrder(order);
  const comms = order.some((actions) => actions.some((a) => !isCompute(a)));
  if (comms) {
    // PyTorch posts its receives early and never blocks on them there, so its lists are checked for
    // consistency only; the compute part is then lowered and checked for progress like any schedule.
    const reduces = order.some((actions) => actions.some((a) => a.kind === 'REDUCE_GRAD'));
    const lowered: LoweredSchedule = { name, ranks: order.length, ...shape, replicas: reduces ? 2 : 1, tiedEmbedding: false, order };
    indexLowered(lowered);
  }
  checkSharding(order, sharding, shape.placement);
  return computeScheduleOf(name, order.map((actions) => actions.filter(isCompute)), {}, pairs);
}
