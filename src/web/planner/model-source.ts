/** The planner's model: a preset by id, or JSON text (pasted or dropped): Conveyor's shape or a Hugging Face config.json. */
import { findPreset, parseModelFile, type ModelShape } from '../../planner/index.js';

export const pastedModel = 'config.json';

/** The model for a preset id, or for `text` when the choice is the pasted one; throws a UsageError naming what is wrong. */
export function modelFrom(choice: string, text: string, seqLength: number | undefined): ModelShape {
  const model = choice === pastedModel ? parseModelFile(text, 'config.json') : findPreset(choice);
  return seqLength === undefined ? model : { ...model, seqLength };
}
