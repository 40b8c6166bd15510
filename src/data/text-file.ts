import { readFileSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';

/** Reads a whole UTF-8 text file; a missing, empty, non-regular or non-UTF-8 file is the user's mistake. */
export function readTextFile(path: string): string {
  let size: number;
  try {
    const stats = statSync(path);
    if (!stats.isFile()) throw new UsageError(`${path} is not a regular file; give a UTF-8 text file`);
    size = stats.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `${path} does not exist; give an existing UTF-8 text file` : `cannot read ${path} (${code}); give a readable UTF-8 text file`);
  }
  if (size === 0) throw new UsageError(`${path} is empty; give a UTF-8 text file with some text in it`);
  return decodeUtf8(readFileSync(path), path);
}

/** Strict UTF-8 decoding: an invalid byte sequence is a UsageError naming the source, never a silent U+FFFD. */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new UsageError(`${source} is not valid UTF-8 text`);
  }
}
