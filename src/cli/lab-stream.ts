/**
 * `conveyor train --lab`: the run's events go to the web lab as they happen. The run serves the lab itself
 * on the port; where a `conveyor lab` already listens there, the events are posted to it instead, so a page
 * that is already open shows the run.
 */
import type { RunResult, TrainHooks } from '../runtime/train.js';
import { UsageError } from '../errors.js';
import type { LabEvent } from '../web/watch/events.js';
import { reportingHooks } from '../web/watch/report-hooks.js';
import { labSignature, PortInUseError, startLabServer } from './lab-server.js';

export interface LabStream {
  /** Where a browser watches the run. */
  readonly url: string;
  /** `hooks` that also tell the lab about the run's start and each step. */
  watch(hooks: TrainHooks, description: string, steps: number): TrainHooks;
  /** Tells the lab how the run ended (its result, or its failure), then finishes sending and stops serving. */
  report(run: Promise<RunResult>): Promise<RunResult>;
}

/** How long a port's answer to "are you a lab?" may take, ms. */
const PROBE_MS = 2000;

async function isLab(base: string): Promise<boolean> {
  try {
    const answer = await fetch(`${base}api/lab`, { signal: AbortSignal.timeout(PROBE_MS) });
    const body = (await answer.json()) as Record<string, unknown>;
    return body.conveyor === labSignature.conveyor;
  } catch {
    return false;
  }
}

/** Posts events one after another, in order; a lab that has gone away is reported once and then skipped. */
function relay(base: string): { publish(event: LabEvent): void; drain(): Promise<void> } {
  let queue = Promise.resolve();
  let gone = false;
  const post = async (event: LabEvent) => {
    if (gone) return;
    try {
      const answer = await fetch(`${base}api/events`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(event) });
      if (!answer.ok) throw new Error(`it answered ${answer.status}: ${(await answer.text()).trim()}`);
    } catch (error) {
      gone = true;
      process.stderr.write(`conveyor: the lab at ${base} stopped taking the run's events (${(error as Error).message}); training goes on\n`);
    }
  };
  return {
    publish: (event) => {
      queue = queue.then(() => post(event));
    },
    drain: () => queue,
  };
}

/** Serves (or finds) the lab on `port` and returns the stream a run reports to. */
export async function openLabStream(port: number, flag: string): Promise<LabStream> {
  let publish: (event: LabEvent) => void;
  let close: () => Promise<void>;
  let base: string;
  try {
    const server = await startLabServer({ port });
    ({ publish, close, url: base } = server);
  } catch (error) {
    if (!(error instanceof PortInUseError)) throw error;
    base = `http://127.0.0.1:${port}/`;
    if (!(await isLab(base))) throw new UsageError(`${flag}: port ${port} is taken by something that is not a Conveyor lab; choose another with --lab-port`);
    const relayed = relay(base);
    publish = relayed.publish;
    close = relayed.drain;
  }
  return {
    url: `${base}#watch`,
    watch: (hooks, description, steps) => reportingHooks(publish, description, steps, hooks),
    report: async (run) => {
      try {
        const result = await run;
        publish({ type: 'end', data: { valLoss: result.valLoss, paramChecksum: result.paramChecksum } });
        return result;
      } catch (error) {
        publish({ type: 'failed', data: { message: (error as Error).message } });
        throw error;
      } finally {
        await close();
      }
    },
  };
}
