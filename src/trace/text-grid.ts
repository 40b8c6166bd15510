/**
 * The terminal drawing: one row per rank on a shared time axis, each compute action's token at its start,
 * idle time as dots, and the rank's bubble and peak stash beside the row. Too long a timeline for the
 * width is drawn compressed: one kind letter per column. When communication takes time, each rank gets a
 * second row showing it: > a message in flight, R a reduction across replicas, T the tied gradient in flight.
 */
import { formatAction, type CommKind, type Schedule, type Timeline, type TimelineEvent } from '../schedule/index.js';
import { computeEvents, percent, shortNumber, title, visibleComm } from './summary.js';

export interface TextGridOptions {
  /** Most characters for the time axis of one row (default DEFAULT_GRID_WIDTH). */
  readonly width?: number;
}

const idle = '.';

/** Columns of the time axis when the caller does not say. */
export const DEFAULT_GRID_WIDTH = 160;
const commLetters: Record<CommKind, string> = {
  SEND_F: '>', SEND_B: '>', RECV_F: '<', RECV_B: '<', RECV_TIED: '<', SEND_TIED: 'T', REDUCE_GRAD: 'R',
}; // receives are instants on the simulator's timeline; a measured one may take time

/** Characters of each row, with every event written over the blank. */
function drawRows(
  ranks: number,
  events: readonly TimelineEvent[],
  columns: number,
  charsPerSecond: number,
  labelled: boolean,
  blank: string,
  token: (event: TimelineEvent) => string,
): string[][] {
  const rows = Array.from({ length: ranks }, () => new Array<string>(columns).fill(blank));
  for (const event of events) {
    const row = rows[event.rank]!;
    // Labelled: an action spans its rounded columns. Compressed: a column shows what runs at its midpoint.
    const edge = (time: number): number =>
      labelled ? Math.round(time * charsPerSecond) : Math.ceil(time * charsPerSecond - 0.5);
    const from = edge(event.start);
    const to = Math.min(edge(event.end), columns);
    const text = token(event);
    for (let column = from; column < to; column++) row[column] = text.length > 1 ? (text[column - from] ?? ' ') : text;
  }
  return rows;
}

export function drawTextGrid(schedule: Schedule, timeline: Timeline, options: TextGridOptions = {}): string {
  const width = options.width ?? DEFAULT_GRID_WIDTH;
  const compute = computeEvents(timeline);
  const comm = visibleComm(timeline);
  // Loops, not Math.min(...spread): a timeline can hold millions of events.
  let shortest = Infinity;
  let tokenWidth = 0;
  for (const event of compute) {
    if (event.end > event.start) shortest = Math.min(shortest, event.end - event.start);
    tokenWidth = Math.max(tokenWidth, formatAction(event.action).length);
  }
  if (!Number.isFinite(shortest)) shortest = 1;
  tokenWidth += 1;
  const labelledColumns = Math.ceil((timeline.makespan / shortest) * tokenWidth);
  const labelled = labelledColumns <= width;
  const columns = Math.max(1, labelled ? labelledColumns : width);
  const charsPerSecond = timeline.makespan > 0 ? columns / timeline.makespan : 0;
  const rows = drawRows(schedule.ranks, compute, columns, charsPerSecond, labelled, idle, (event) =>
    labelled ? formatAction(event.action) : event.action.kind,
  );
  const commRows = drawRows(schedule.ranks, comm, columns, charsPerSecond, false, ' ', (event) => commLetters[event.action.kind as CommKind]);

  const rankWidth = `rank ${schedule.ranks - 1}`.length;
  const lines = [title(schedule, timeline)];
  rows.forEach((row, rank) => {
    const label = `rank ${rank}`.padEnd(rankWidth);
    const bubble = `bubble ${percent(timeline.bubbleFraction[rank]!).padStart(6)}`;
    const peak = `peak ${shortNumber(timeline.peakActivations[rank]!)}`;
    lines.push(`${label} |${row.join('').trimEnd().padEnd(columns)}| ${bubble}  ${peak}`);
    if (comm.length > 0) lines.push(`${'comm'.padStart(rankWidth)} |${commRows[rank]!.join('')}|`);
  });
  const scale = labelled
    ? `${tokenWidth} columns = ${shortNumber(shortest)} s`
    : `1 column = ${shortNumber(timeline.makespan / columns)} s, letters are kinds`;
  const commKey = comm.length > 0 ? ' · comm: > message in flight, < receiving, R reducing across replicas, T tied gradient in flight' : '';
  lines.push(
    `${scale} · <stage><kind><micro-batch>: F forward, B backward, I backward to input, W backward to weights · ${idle} idle · peak in micro-batches' worth of activations${commKey}`,
  );
  return lines.join('\n') + '\n';
}
