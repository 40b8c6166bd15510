/**
 * The terminal drawing: one row per rank on a shared time axis, each action's token at its start,
 * idle time as dots, and the rank's bubble and peak stash beside the row. Too long a timeline for the
 * width is drawn compressed: one kind letter per column.
 */
import { formatAction, type Schedule, type Timeline, type TimelineEvent } from '../schedule/index.js';
import { percent, shortNumber, title } from './summary.js';

export interface TextGridOptions {
  /** Most characters for the time axis of one row (default DEFAULT_GRID_WIDTH). */
  readonly width?: number;
}

const idle = '.';

/** Columns of the time axis when the caller does not say. */
export const DEFAULT_GRID_WIDTH = 160;

/** Characters of each row, with every event written over the idle dots. */
function drawRows(
  schedule: Schedule,
  events: readonly TimelineEvent[],
  columns: number,
  charsPerSecond: number,
  labelled: boolean,
): string[][] {
  const rows = schedule.order.map(() => new Array<string>(columns).fill(idle));
  for (const event of events) {
    const row = rows[event.rank]!;
    // Labelled: an action spans its rounded columns. Compressed: a column shows what runs at its midpoint.
    const edge = (time: number): number =>
      labelled ? Math.round(time * charsPerSecond) : Math.ceil(time * charsPerSecond - 0.5);
    const from = edge(event.start);
    const to = Math.min(edge(event.end), columns);
    const token = labelled ? formatAction(event.action) : event.action.kind;
    for (let column = from; column < to; column++) row[column] = labelled ? (token[column - from] ?? ' ') : token;
  }
  return rows;
}

export function drawTextGrid(schedule: Schedule, timeline: Timeline, options: TextGridOptions = {}): string {
  const width = options.width ?? DEFAULT_GRID_WIDTH;
  // Loops, not Math.min(...values): a spread of a long timeline overflows the stack.
  let shortest = Infinity;
  let tokenWidth = 1;
  for (const event of timeline.events) {
    const duration = event.end - event.start;
    if (duration > 0 && duration < shortest) shortest = duration;
    tokenWidth = Math.max(tokenWidth, formatAction(event.action).length + 1);
  }
  if (shortest === Infinity) shortest = 1;
  const labelledColumns = Math.ceil((timeline.makespan / shortest) * tokenWidth);
  const labelled = labelledColumns <= width;
  const columns = Math.max(1, labelled ? labelledColumns : width);
  const charsPerSecond = timeline.makespan > 0 ? columns / timeline.makespan : 0;
  const rows = drawRows(schedule, timeline.events, columns, charsPerSecond, labelled);

  const rankWidth = `rank ${schedule.ranks - 1}`.length;
  const lines = [title(schedule, timeline)];
  rows.forEach((row, rank) => {
    const label = `rank ${rank}`.padEnd(rankWidth);
    const bubble = `bubble ${percent(timeline.bubbleFraction[rank]!).padStart(6)}`;
    const peak = `peak ${shortNumber(timeline.peakActivations[rank]!)}`;
    lines.push(`${label} |${row.join('').trimEnd().padEnd(columns)}| ${bubble}  ${peak}`);
  });
  const scale = labelled
    ? `${tokenWidth} columns = ${shortNumber(shortest)} s`
    : `1 column = ${shortNumber(timeline.makespan / columns)} s, letters are kinds`;
  lines.push(
    `${scale} · <stage><kind><micro-batch>: F forward, B backward, I backward to input, W backward to weights · ${idle} idle · peak in micro-batches' worth of activations`,
  );
  return lines.join('\n') + '\n';
}
