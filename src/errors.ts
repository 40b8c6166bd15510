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
