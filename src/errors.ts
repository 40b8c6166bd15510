/**
 * A user's mistake (a bad flag, a missing file, a request no setting can satisfy).
 * The CLI prints its message on one line and exits with code 2; anything else is a bug and keeps its stack.
 * This file is the one import every room may share: it carries no behaviour.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Work that finished but whose results could not all be written (a disk that filled up during the run), after
 * every destination was checked at the start. The CLI prints its message on one line and exits with code 1.
 */
export class OutputError extends Error {
  override readonly name = 'OutputError';
}

/**
 * A run that failed for a reason the message says in one line (a rank failed, a rank lost its job): the CLI
 * prints it without a stack and exits with code 1.
 */
export class RunFailedError extends Error {
  override readonly name: string = 'RunFailedError';
}

/** Ends the command with `code` and nothing more to say: what went wrong was said already (by a launched rank). */
export class ExitStatus extends Error {
  override readonly name = 'ExitStatus';
  constructor(readonly code: number) {
    super(`exit code ${code}`);
  }
}
