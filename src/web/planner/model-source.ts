/** The planner's model: a preset by id, or a model given as JSON text (pasted or dropped), read by the planner's own parser. */
import { findPreset, parseModel, type ModelShape } from '../../planner/index.js';

export const pastedModel = 'config.json';

/** The model for a preset id, or for `text` when the choice is the pasted one; throws a UsageError naming what is wrong. */
export function modelFrom(choice: string, text: string, seqLength: number | undefined): ModelShape {
  const model = choice === pastedModel ? parseModel(text, 'config.json') : findPreset(choice);
  return seqLength === undefined ? model : { ...model, seqLength };
}
