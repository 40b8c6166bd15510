import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface FileContents {
  /** A plain file name inside the target directory. */
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** `.model.safetensors.tmp-<pid>-<8 hex>`: the writing process's id tells a stale file from one being written. */
const temporaryName = (name: string, tag: string): string => `.${name}.tmp-${tag}`;
const temporaryPattern = /^\.(.+)\.tmp-(\d+)-[0-9a-f]{8}$/;

/** Temporary files this process is writing now: removeStagedFiles() deletes them when the process is interrupted. */
const staged = new Set<string>();

/**
 * Replaces several files in `dir` so that a crash never leaves a half-written one: every file is first
 * written in full to a temporary name in the same directory and fsynced, and only then are all renamed
 * over their targets (rename within one file system is atomic), in the order given; then the directory
 * entry is fsynced. If anything fails before the renames, the previous files are untouched. Temporary files
 * that an earlier, killed writer left in `dir` are removed first.
 */
export function writeFilesAtomically(dir: string, files: readonly FileContents[]): void {
  makeDirectory(dir);
  removeStaleTemporaries(dir);
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const pending = files.map(({ name }) => ({ temporary: join(dir, temporaryName(name, tag)), target: join(dir, name) }));
  try {
    files.forEach(({ bytes }, i) => {
      staged.add(pending[i]!.temporary);
      writeDurably(pending[i]!.temporary, bytes);
    });
    for (const { temporary, target } of pending) {
      renameSync(temporary, target);
      staged.delete(temporary);
    }
  } catch (error) {
    for (const { temporary } of pending) {
      rmSync(temporary, { force: true });
      staged.delete(temporary);
    }
    throw error;
  }
  syncDirectory(dir);
}

/** Deletes the temporary files of a save in progress (for SIGINT and SIGTERM); the previous files stay whole. */
export function removeStagedFiles(): void {
  for (const temporary of staged) rmSync(temporary, { force: true });
  staged.clear();
}

/** Temporary files of writers that no longer run: this process between saves, or a process that was killed. */
function removeStaleTemporaries(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const match = temporaryPattern.exec(entry);
    if (match === null) continue;
    const pid = Number(match[2]);
    if (pid === process.pid || !processRuns(pid)) rmSync(join(dir, entry), { force: true });
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // it runs, as another user
  }
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdir loops for ever under /proc, where mkdir fails with
 * ENOENT although the parent exists.
 */
function makeDirectory(dir: string): void {
  const missing: string[] = [];
  for (let folder = dir; !exists(folder); folder = dirname(folder)) {
    missing.unshift(folder);
    if (dirname(folder) === folder) break;
  }
  for (const folder of missing) mkdirSync(folder);
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
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
