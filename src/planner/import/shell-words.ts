import { UsageError } from '../../errors.js';

/**
 * A launch script or argument string split the way a POSIX shell splits words: quotes, backslash escapes,
 * backslash-newline continuations and `#` comments. Each statement (a line, or `;`-separated) is one array.
 * Variables are not expanded: `"$NODE_RANK"` stays `$NODE_RANK`.
 */
export function shellStatements(text: string, source: string): string[][] {
  const statements: string[][] = [[]];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  const end = (): void => {
    if (word !== undefined) statements[statements.length - 1]!.push(word);
    word = undefined;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) word = (word ?? '') + text[++i];
      else word = (word ?? '') + c;
    } else if (c === '\\') {
      if (text[i + 1] === '\n') i++;
      else word = (word ?? '') + (text[++i] ?? '');
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '#' && word === undefined) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (c === '\n' || c === ';') {
      end();
      statements.push([]);
    } else if (c === ' ' || c === '\t' || c === '\r') {
      end();
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote !== undefined) throw new UsageError(`${source}: a ${quote} quote is never closed`);
  end();
  return statements.filter((statement) => statement.length > 0);
}

/** `--name value` / `--name=value` / bare `--name` (true) from a list of words; later ones win, as argparse's do. */
export function flagValues(words: readonly string[]): Map<string, string | true> {
  const found = new Map<string, string | true>();
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (!word.startsWith('--')) continue;
    const equals = word.indexOf('=');
    if (equals > 0) {
      found.set(word.slice(0, equals), word.slice(equals + 1));
      continue;
    }
    const next = words[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      found.set(word, next);
      i++;
    } else {
      found.set(word, true);
    }
  }
  return found;
}
