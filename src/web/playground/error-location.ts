/**
 * Where in the custom schedule's text a validation message points: the parser and validator name a line, or a
 * rank and an action token, and this finds that token so the editor can mark it. Parsing messages, not rules.
 */
export interface ErrorLocation {
  /** 0-based line of the text. */
  readonly line: number;
  /** Character offsets of the marked span within that line. */
  readonly start: number;
  readonly end: number;
}

const tokenPattern = /\b(\d+[FBIW]\d+)\b/;

/** Offsets of every whole-word occurrence of `token` in `line`. */
function occurrences(line: string, token: string): number[] {
  const found: number[] = [];
  const pattern = new RegExp(`(?<![\\w])${token}(?![\\w])`, 'g');
  for (let match = pattern.exec(line); match !== null; match = pattern.exec(line)) found.push(match.index);
  return found;
}

/** The span of the line after `rank R:` (its actions), or of the whole line. */
function wholeLine(lines: readonly string[], line: number): ErrorLocation {
  const text = lines[line]!;
  const start = text.length - text.trimStart().length;
  return { line, start, end: Math.max(start + 1, text.replace(/\s*(#.*)?$/, '').length) };
}

/** The text form names its rank lines; in a PyTorch CSV row r + 1 is rank r. */
export type ScheduleFormat = 'text' | 'csv';

function rankLine(lines: readonly string[], rank: number, format: ScheduleFormat): number {
  if (format === 'csv') return rank < lines.length ? rank : -1;
  return lines.findIndex((line) => new RegExp(`^\\s*rank\\s+${rank}\\s*:`).test(line));
}

/** The span of cell `column` (1-based) of a CSV line. */
function csvCell(lines: readonly string[], line: number, column: number): ErrorLocation | undefined {
  const cells = lines[line]!.split(',');
  if (column < 1 || column > cells.length) return undefined;
  const start = cells.slice(0, column - 1).reduce((offset, cell) => offset + cell.length + 1, 0);
  return { line, start, end: Math.max(start + cells[column - 1]!.length, start + 1) };
}

/** The token's span on `line`; the last occurrence when the message is about a repeat. */
function tokenOn(lines: readonly string[], line: number, token: string, last: boolean): ErrorLocation | undefined {
  const text = lines[line]!;
  const actionsFrom = text.indexOf(':') + 1;
  const found = occurrences(text.slice(actionsFrom).replace(/#.*/, ''), token).map((offset) => offset + actionsFrom);
  if (found.length === 0) return undefined;
  const start = last ? found[found.length - 1]! : found[0]!;
  return { line, start, end: start + token.length };
}

export function locateError(text: string, message: string, format: ScheduleFormat = 'text'): ErrorLocation | undefined {
  const lines = text.split(/\r?\n/);
  const cell = /^row (\d+) \(rank \d+\), column (\d+):/.exec(message);
  if (cell !== null) {
    const line = Number(cell[1]) - 1;
    return line < lines.length ? csvCell(lines, line, Number(cell[2])) : undefined;
  }
  const numbered = /^line (\d+):/.exec(message);
  if (numbered !== null) {
    const line = Number(numbered[1]) - 1;
    if (line < 0 || line >= lines.length) return undefined;
    const quoted = /cannot read action '([^']*)'/.exec(message)?.[1];
    const start = quoted ? lines[line]!.indexOf(quoted) : -1;
    return start >= 0 ? { line, start, end: start + quoted!.length } : wholeLine(lines, line);
  }
  const split = /stage (\d+) runs on rank \d+ and on rank (\d+)/.exec(message);
  if (split !== null) {
    const line = rankLine(lines, Number(split[2]), format);
    if (line < 0) return undefined;
    const token = lines[line]!.slice(lines[line]!.indexOf(':') + 1).split(/[\s,]+/).find((t) => tokenPattern.test(t) && Number.parseInt(t, 10) === Number(split[1]));
    return (token && tokenOn(lines, line, token, false)) || wholeLine(lines, line);
  }
  const ranked = /rank (\d+)/.exec(message);
  if (ranked === null) return undefined;
  const line = rankLine(lines, Number(ranked[1]), format);
  if (line < 0) return undefined;
  const token = tokenPattern.exec(message.slice(ranked.index))?.[1];
  return (token && tokenOn(lines, line, token, message.includes('a second time'))) || wholeLine(lines, line);
}
