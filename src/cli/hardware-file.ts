import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { gpuCatalogue, parseHardware, type Gpu } from '../planner/index.js';
import { quote } from '../quote.js';

/**
 * Reads the hardware file the user named (the planner itself does no I/O, so the browser can run it). An id
 * must be new: one that names a catalogue GPU, or another entry of the file, would silently win or lose.
 */
export function loadHardwareFile(path: string): Gpu[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`cannot read hardware file ${path}; give the path of a JSON file describing your GPU`);
  }
  const gpus = parseHardware(text, path);
  gpus.forEach(({ id }, index) => {
    if (gpuCatalogue.some((known) => known.id === id)) {
      throw new UsageError(`hardware file ${path}: id ${quote(id)} is a catalogue GPU already; give yours an id of its own (e.g. ${quote(`${id}-custom`)}) and pass it to --gpu`);
    }
    if (gpus.findIndex((other) => other.id === id) !== index) {
      throw new UsageError(`hardware file ${path}: id ${quote(id)} is given twice; give each GPU an id of its own`);
    }
  });
  return gpus;
}
