import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface FileContents {
  /** A plain file name inside the target directory. */
  readonly name: string;
  readonly bytes: Uint8Array;
}

/**
 * Replaces several files in `dir` so that a crash never leaves a half-written one: every file is first
 * written in full to a temporary name in the same directory and fsynced, and only then are all renamed
 * over their targets (rename within one file system is atomic), in the order given; then the directory
 * entry is fsynced. If anything fails before the renames, the previous files are untouched.
 */
export function writeFilesAtomically(dir: string, files: readonly FileContents[]): void {
  mkdirSync(dir, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const staged = files.map(({ name }) => ({ temporary: join(dir, `.${name}.tmp-${tag}`), target: join(dir, name) }));
  try {
    files.forEach(({ bytes }, i) => writeDurably(staged[i]!.temporary, bytes));
    for (const { temporary, target } of staged) renameSync(temporary, target);
  } catch (error) {
    for (const { temporary } of staged) rmSync(temporary, { force: true });
    throw error;
  }
  syncDirectory(dir);
}

function writeDurably(path: string, bytes: Uint8Array): void {
  const descriptor = openSync(path, 'wx');
  try {
    for (let written = 0; written < bytes.length; ) written += writeSync(descriptor, bytes, written, bytes.length - written);
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}

/** Makes the renames themselves durable; some platforms cannot open a directory, which then has nothing to flush. */
function syncDirectory(dir: string): void {
  let descriptor: number;
  try {
    descriptor = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}
