/**
 * User text inside a one-line message: short and printable, whatever the user gave (a binary file, a
 * kilobyte-long line, terminal escape codes). Every room may import it; it carries no other behaviour.
 */

/** Characters past which an echo is cut: enough to recognise the text, short enough to stay on one line. */
const EXCERPT_LENGTH = 40;

// Control, format (bidirectional overrides among them), unassigned, private-use and lone-surrogate code
// points, and U+FFFD (what undecodable bytes became): none of them shows as itself on a terminal.
const unprintable = /[\p{C}\uFFFD]/gu;

/** The text with unprintable characters escaped (\n, \u001b) and cut after `limit` characters with an ellipsis. */
export function printable(text: string, limit = EXCERPT_LENGTH): string {
  const characters = [...text];
  const shown = characters.slice(0, limit).join('');
  const escaped = shown.replace(unprintable, (character) => {
    if (character === '\n') return '\\n';
    if (character === '\t') return '\\t';
    if (character === '\r') return '\\r';
    return `\\u${character.codePointAt(0)!.toString(16).padStart(4, '0')}`;
  });
  return characters.length > limit ? `${escaped}…` : escaped;
}

/** printable(text) in single quotes, the way messages quote what the user typed. */
export function quote(text: string, limit = EXCERPT_LENGTH): string {
  return `'${printable(text, limit)}'`;
}
