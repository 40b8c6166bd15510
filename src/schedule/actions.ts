/** Actions as compact tokens: `<stage><kind><microbatch>`, e.g. `0F3` = stage 0 forward of micro-batch 3. */
import { UsageError } from '../errors.js';
import { quote } from '../quote.js';
import type { Action, ActionKind } from './types.js';

export const actionKinds: readonly ActionKind[] = ['F', 'B', 'I', 'W'];

const tokenPattern = /^(\d+)([FBIW])(\d+)$/;

export function action(kind: ActionKind, stage: number, microbatch: number): Action {
  return { kind, stage, microbatch };
}

export function formatAction(a: Action): string {
  return `${a.stage}${a.kind}${a.microbatch}`;
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
