import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';

/** readFileSync reads at most this much into one buffer. */
const MAX_FILE_BYTES = 2 ** 31 - 1;

/** The size of a file the user named; a missing, empty or non-regular file is the user's mistake. */
export function regularFileSize(path: string, expected: string): number {
  if (path === '') throw new UsageError(`the file name is empty; give ${expected}`);
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
  return size;
}

/** A size above which a caller refuses a file before reading it, and the message that says so. */
export interface SizeLimit {
  readonly bytes: number;
  readonly refusal: (path: string, size: number) => string;
}

/** Reads a whole file the user named; a missing, empty, non-regular or too large file is the user's mistake. */
export function readNonEmptyFile(path: string, expected = 'a UTF-8 text file', limit?: SizeLimit): Buffer {
  const size = regularFileSize(path, expected);
  if (limit !== undefined && size > limit.bytes) throw new UsageError(limit.refusal(path, size));
  if (size > MAX_FILE_BYTES) throw new UsageError(`${path} has ${size} bytes, more than the ${MAX_FILE_BYTES} one file can be read into; give ${expected} below 2 GiB`);
  return readFileSync(path);
}

/** The first `count` bytes of a file the user named (fewer when it is shorter), and its whole size. */
export function readFileStart(path: string, count: number, expected: string): { readonly start: Buffer; readonly size: number } {
  const size = regularFileSize(path, expected);
  const start = Buffer.alloc(Math.min(count, size));
  const descriptor = openSync(path, 'r');
  try {
    for (let read = 0; read < start.length; ) {
      const got = readSync(descriptor, start, read, start.length - read, read);
      if (got === 0) break;
      read += got;
    }
  } finally {
    closeSync(descriptor);
  }
  return { start, size };
}

/** Reads a whole UTF-8 text file; also refuses invalid UTF-8. */
export function readTextFile(path: string, expected = 'a UTF-8 text file', limit?: SizeLimit): string {
  return decodeUtf8(readNonEmptyFile(path, expected, limit), path);
}

/** Strict UTF-8 decoding: an invalid byte sequence is a UsageError naming the source, never a silent U+FFFD. */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new UsageError(`${source} is not valid UTF-8 text`);
  }
}
