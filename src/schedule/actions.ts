/**
 * Actions as compact tokens: `<stage><kind><microbatch>`, e.g. `0F3` = stage 0 forward of micro-batch 3.
 * Communication is written the way PyTorch pipelining writes it: `1RECV_F3`, `0SEND_B2`, `0REDUCE_GRAD`.
 */
import { UsageError } from '../errors.js';
import { quote } from '../quote.js';
import type { Action, ActionKind, CommAction, CommKind, LoweredAction } from './types.js';

export const actionKinds: readonly ActionKind[] = ['F', 'B', 'I', 'W'];

/** Point-to-point kinds carry a micro-batch; the tied exchange and the reduction are once per step. */
export const commKinds: readonly CommKind[] = ['SEND_F', 'RECV_F', 'SEND_B', 'RECV_B', 'SEND_TIED', 'RECV_TIED', 'REDUCE_GRAD'];

const tokenPattern = /^(\d+)([FBIW])(\d+)$/;
const loweredPattern = /^(\d+)(SEND_F|RECV_F|SEND_B|RECV_B|SEND_TIED|RECV_TIED|REDUCE_GRAD)(\d*)$/;

export function action(kind: ActionKind, stage: number, microbatch: number): Action {
  return { kind, stage, microbatch };
}

export function commAction(kind: CommKind, stage: number, microbatch?: number): CommAction {
  return microbatch === undefined ? { kind, stage } : { kind, stage, microbatch };
}

export function isCompute(a: LoweredAction): a is Action {
  const { kind } = a;
  return kind === 'F' || kind === 'B' || kind === 'I' || kind === 'W';
}

/** Whether a communication kind moves one micro-batch's data (and so carries its number). */
export function hasMicrobatch(kind: CommKind): boolean {
  return kind !== 'SEND_TIED' && kind !== 'RECV_TIED' && kind !== 'REDUCE_GRAD';
}

export function formatAction(a: LoweredAction): string {
  return `${a.stage}${a.kind}${a.microbatch ?? ''}`;
}

export function parseAction(token: string): Action {
  const match = tokenPattern.exec(token);
  if (match === null) {
    throw new UsageError(
      `cannot read action ${quote(token)}: expected <stage><kind><microbatch> with kind F, B, I or W, e.g. 0F3`,
    );
  }
  return action(match[2] as ActionKind, Number(match[1]), Number(match[3]));
}

/** A compute token, or a communication token with its micro-batch exactly where its kind needs one. */
export function parseLoweredAction(token: string): LoweredAction {
  if (tokenPattern.test(token)) return parseAction(token);
  const match = loweredPattern.exec(token);
  const kind = match?.[2] as CommKind | undefined;
  if (match === null || kind === undefined || (match[3] !== '') !== hasMicrobatch(kind)) {
    throw new UsageError(
      `cannot read action ${quote(token)}: expected a compute token such as 0F3, <stage>SEND_F|RECV_F|SEND_B|RECV_B<microbatch> such as 1RECV_F3, or <stage>SEND_TIED|RECV_TIED|REDUCE_GRAD such as 0REDUCE_GRAD`,
    );
  }
  return commAction(kind, Number(match[1]), match[3] === '' ? undefined : Number(match[3]));
}
