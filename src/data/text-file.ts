import { readFileSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';

/** Reads a whole file the user named; a missing, empty or non-regular file is the user's mistake. */
export function readNonEmptyFile(path: string, expected = 'a UTF-8 text file'): Buffer {
  let size: number;
  try {
    const stats = statSync(path);
    if (!stats.isFile()) throw new UsageError(`${path} is not a regular file; give ${expected}`);
    size = stats.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `${path} does not exist; give ${expected}` : `cannot read ${path} (${code}); give ${expected}`);
  }
  if (size === 0) throw new UsageError(`${path} is empty; give ${expected}`);
  return readFileSync(path);
}

/** Reads a whole UTF-8 text file; also refuses invalid UTF-8. */
export function readTextFile(path: string): string {
  return decodeUtf8(readNonEmptyFile(path), path);
}

/** Strict UTF-8 decoding: an invalid byte sequence is a UsageError naming the source, never a silent U+FFFD. */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new UsageError(`${source} is not valid UTF-8 text`);
  }
}
