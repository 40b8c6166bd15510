/**
 * Where a command will write, checked before any work starts, so that hours of training are never lost to a
 * destination that was wrong from the start: an existing file given as a directory, a folder that does not
 * exist, /dev/null as a checkpoint directory, a file system that takes no files (/proc, /sys).
 */
import { closeSync, constants, openSync, readdirSync, rmSync, statSync, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { CHECKPOINT_FILES, readCheckpointSpec } from '../checkpoint/checkpoint.js';
import { UsageError } from '../errors.js';

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined; // ENOTDIR: a file stands where a folder of the path should; existingAncestor names it
    throw new UsageError(`cannot look at ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Why no file can be created in the directory, or undefined when one can (tried for real: root passes every access check). */
function cannotCreateIn(directory: string): string | undefined {
  const probe = join(directory, `.conveyor-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    closeSync(openSync(probe, 'wx'));
    rmSync(probe, { force: true });
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  }
}

/** The closest existing folder above `path` (path itself excluded), which must be a directory. */
function existingAncestor(flag: string, path: string): string {
  for (let folder = dirname(resolve(path)); ; folder = dirname(folder)) {
    const stats = statOrUndefined(folder);
    if (stats === undefined) continue;
    if (!stats.isDirectory()) throw new UsageError(`${flag} ${path}: ${folder} is a file, not a folder`);
    return folder;
  }
}

/**
 * `flag FILE` will be written at the end: FILE may exist (it is replaced) unless it is a folder; a new FILE
 * needs an existing folder that takes files.
 */
export function checkOutputFile(flag: string, path: string): void {
  if (path === '') throw new UsageError(`${flag} needs a file name`);
  const stats = statOrUndefined(path);
  if (stats?.isDirectory()) throw new UsageError(`${flag} ${path} is a folder; give a file name inside it`);
  if (stats !== undefined) {
    // Opening for writing neither truncates nor, thanks to O_NONBLOCK, waits on a pipe nobody reads.
    try {
      closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch (error) {
      throw new UsageError(`${flag} ${path} cannot be written (${(error as NodeJS.ErrnoException).code}); give another file`);
    }
    return;
  }
  const folder = dirname(resolve(path));
  const folderStats = statOrUndefined(folder);
  if (folderStats === undefined) throw new UsageError(`${flag} ${path}: the folder ${folder} does not exist; create it or give another file`);
  if (!folderStats.isDirectory()) throw new UsageError(`${flag} ${path}: ${folder} is a file, not a folder`);
  const problem = cannotCreateIn(folder);
  if (problem !== undefined) throw new UsageError(`${flag} ${path}: no file can be created in ${folder} (${problem}); give another file`);
}

/**
 * `flag DIR` will hold a checkpoint: DIR is a folder (created if missing, under a folder that takes files) that
 * is empty, holds a checkpoint (which is replaced) or holds none of a checkpoint's file names: a config.json
 * of something else would be overwritten.
 */
export function checkCheckpointDirectory(flag: string, path: string): void {
  if (path === '') throw new UsageError(`${flag} needs a directory name`);
  const stats = statOrUndefined(path);
  if (stats === undefined) {
    const folder = existingAncestor(flag, path);
    const problem = cannotCreateIn(folder);
    if (problem !== undefined) throw new UsageError(`${flag} ${path}: no folder can be created in ${folder} (${problem}); give another directory`);
    return;
  }
  if (!stats.isDirectory()) throw new UsageError(`${flag} ${path} is a file, not a directory; give a directory for the checkpoint (it is created if missing)`);
  const problem = cannotCreateIn(path);
  if (problem !== undefined) throw new UsageError(`${flag} ${path}: no file can be created there (${problem}); give another directory`);
  const clashing = readdirSync(path).filter((name) => CHECKPOINT_FILES.includes(name));
  if (clashing.length === 0) return;
  try {
    readCheckpointSpec(path);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(`${flag} ${path} holds ${clashing.join(', ')} but not a Conveyor checkpoint (${error.message}); give an empty or new directory`);
  }
}
