import { UsageError } from '../errors.js';
import type { ActionKind, Schedule } from '../schedule/types.js';

/**
 * A fault to inject, from CONVEYOR_FAULT, e.g. `rank:1,step:2,action:B` or `rank:0,step:1,action:F,microbatch:3,mode:exit`.
 * Tests use it to prove that a failure anywhere stops the whole run quickly and says where.
 */
export interface Fault {
  readonly rank: number;
  readonly step: number;
  readonly action: ActionKind;
  /** Absent: the first matching action of that step. */
  readonly microbatch?: number;
  /** throw: an exception; exit: the worker dies abruptly; nan: the result becomes NaN; hang: the rank stops forever. */
  readonly mode: 'throw' | 'exit' | 'nan' | 'hang';
}

const faultHelp = 'CONVEYOR_FAULT takes rank:R,step:S,action:F|B|I|W[,microbatch:M][,mode:throw|exit|nan|hang]';

export function parseFault(text: string | undefined): Fault | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const fields = new Map<string, string>();
  for (const pair of text.split(',')) {
    const [key, value, extra] = pair.split(':').map((part) => part.trim());
    if (!key || value === undefined || extra !== undefined) throw new UsageError(`${faultHelp}; got '${text}'`);
    if (fields.has(key)) throw new UsageError(`${faultHelp}; '${key}' is given twice in '${text}'`);
    fields.set(key, value);
  }
  const whole = (key: string, required: boolean): number | undefined => {
    const value = fields.get(key);
    if (value === undefined) {
      if (required) throw new UsageError(`${faultHelp}; '${key}' is missing`);
      return undefined;
    }
    const number = Number(value);
    if (!Number.isInteger(number) || number < 0) throw new UsageError(`${faultHelp}; '${key}' must be a whole number ≥ 0, got '${value}'`);
    return number;
  };
  const action = fields.get('action');
  if (action !== 'F' && action !== 'B' && action !== 'I' && action !== 'W') throw new UsageError(`${faultHelp}; action '${action ?? ''}' is not one of F, B, I, W`);
  const mode = fields.get('mode') ?? 'throw';
  if (mode !== 'throw' && mode !== 'exit' && mode !== 'nan' && mode !== 'hang') throw new UsageError(`${faultHelp}; mode '${mode}' is not one of throw, exit, nan, hang`);
  for (const key of fields.keys()) {
    if (!['rank', 'step', 'action', 'microbatch', 'mode'].includes(key)) throw new UsageError(`${faultHelp}; unknown field '${key}'`);
  }
  const microbatch = whole('microbatch', false);
  if (mode === 'nan' && action !== 'F') throw new UsageError(`${faultHelp}; mode:nan poisons a forward's result, so it needs action:F, not ${action}`);
  return {
    rank: whole('rank', true)!,
    step: whole('step', true)!,
    action,
    mode,
    ...(microbatch === undefined ? {} : { microbatch }),
  };
}

/**
 * Refuses a fault that can never fire in this run, so a test (or a user) never waits for one that does not
 * come: the rank must exist, the step must be one the run trains, and that rank's action list must hold the
 * action (and micro-batch) named.
 */
export function checkFault(fault: Fault, schedule: Schedule, replicas: number, firstStep: number, lastStep: number): void {
  const ranks = schedule.ranks * replicas;
  const never = (why: string) => new UsageError(`CONVEYOR_FAULT can never fire: ${why}`);
  if (fault.rank >= ranks) throw never(`rank ${fault.rank} does not exist in a job of ${ranks} rank${ranks > 1 ? 's' : ''} (0 to ${ranks - 1})`);
  if (fault.step < firstStep || fault.step > lastStep) throw never(`step ${fault.step} is not one this run trains (${firstStep} to ${lastStep})`);
  const order = schedule.order[fault.rank % schedule.ranks]!;
  const matches = order.filter((action) => action.kind === fault.action);
  if (matches.length === 0) throw never(`rank ${fault.rank} runs no ${fault.action} under ${schedule.name} (it runs ${[...new Set(order.map((action) => action.kind))].join(', ')})`);
  if (fault.microbatch !== undefined && !matches.some((action) => action.microbatch === fault.microbatch)) {
    throw never(`rank ${fault.rank} runs no ${fault.action} of micro-batch ${fault.microbatch} (micro-batches 0 to ${schedule.microbatches - 1})`);
  }
}
