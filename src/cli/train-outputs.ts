/**
 * What a training run writes besides its summary (the checkpoint, the trace, the SVG), and what it says when
 * writing fails or the user interrupts it. Destinations are checked before the first step; a write that still
 * fails at the end never costs the summary, and a checkpoint that cannot go where asked goes to a fresh folder.
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { removeStagedFiles } from '../checkpoint/atomic-write.js';
import { UsageError } from '../errors.js';
import type { TrainOptions } from '../runtime/config.js';
import type { ModelState } from '../runtime/pipeline.js';
import { checkCheckpointDirectory, checkOutputFile } from './destinations.js';

/** Writes the checkpoint of `step` into `dir`. */
export type SaveCheckpoint = (dir: string, step: number, state: ModelState) => void;

const reason = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

/** Every file and folder the run will write, before any work: one line naming the first bad one. */
export function checkTrainDestinations(options: TrainOptions): void {
  if (options.save !== undefined) checkCheckpointDirectory('--save', options.save);
  if (options.trace !== undefined) checkOutputFile('--trace', options.trace);
  if (options.svg !== undefined) checkOutputFile('--svg', options.svg);
  if (options.trace !== undefined && options.svg !== undefined && resolve(options.trace) === resolve(options.svg)) {
    throw new UsageError(`--trace and --svg both name ${options.svg}: give each its own file`);
  }
}

export class TrainOutputs {
  /** The step the checkpoint in --save holds, once one is there. */
  private savedStep: number | undefined;

  constructor(
    private readonly options: TrainOptions,
    private readonly save: SaveCheckpoint,
    startStep: number,
  ) {
    const sameFolder = options.save !== undefined && options.resume !== undefined && resolve(options.save) === resolve(options.resume);
    this.savedStep = sameFolder ? startStep : undefined;
  }

  /** --save-every: a failed save is reported and training goes on, since the model is still whole in memory. */
  saveDuring(step: number, state: ModelState): void {
    try {
      this.save(this.options.save!, step, state);
      this.savedStep = step;
    } catch (error) {
      const kept = this.savedStep === undefined ? 'no checkpoint is there yet' : `it still holds step ${this.savedStep}`;
      process.stderr.write(`conveyor: could not write the checkpoint of step ${step} to ${this.options.save} (${reason(error)}); ${kept}, and training goes on\n`);
    }
  }

  /** The last save; when --save cannot take it, a fresh folder does. Returns what went wrong, if anything. */
  saveAtEnd(step: number, state: ModelState): string | undefined {
    const dir = this.options.save!;
    try {
      this.save(dir, step, state);
      this.savedStep = step;
      return undefined;
    } catch (error) {
      const failed = `could not write the checkpoint of step ${step} to ${dir} (${reason(error)})`;
      try {
        const rescue = mkdtempSync(join(tmpdir(), 'conveyor-rescued-'));
        this.save(rescue, step, state);
        return `${failed}; it is saved in ${rescue} instead`;
      } catch (rescueError) {
        return `${failed}, nor to a temporary folder (${reason(rescueError)}): the trained model is lost`;
      }
    }
  }

  /** --trace or --svg at the end; returns what went wrong, if anything. */
  writeFile(flag: string, path: string, text: string): string | undefined {
    try {
      writeFileSync(path, text);
      return undefined;
    } catch (error) {
      return `${flag}: could not write ${path} (${reason(error)})`;
    }
  }

  /** After SIGINT or SIGTERM during `step` (undefined before the first): what is safe on disk. */
  interrupted(step: number | undefined): string {
    const when = step === undefined ? 'before the first step' : `during step ${step} of ${this.options.steps}`;
    if (this.options.save === undefined) return `interrupted ${when}; no checkpoint was asked for (--save DIR --save-every K keeps one)`;
    if (this.savedStep === undefined) return `interrupted ${when}; no checkpoint was written to ${this.options.save} yet`;
    return `interrupted ${when}; the checkpoint in ${this.options.save} holds step ${this.savedStep}: continue with --resume ${this.options.save}`;
  }
}

/**
 * Until the returned function is called, SIGINT and SIGTERM stop the run: the temporary files of a save in
 * progress are removed (a save itself is synchronous, so it finishes before the signal is handled), `say`
 * names what is safe on disk, and the process exits with 128 + the signal number, taking its worker threads.
 */
export function stopOnSignals(say: () => string, cleanUp: () => void): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    cleanUp();
    removeStagedFiles();
    process.stderr.write(`conveyor: ${say()}\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
