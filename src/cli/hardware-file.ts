import { readTextFile } from '../data/text-file.js';
import { UsageError } from '../errors.js';
import { gpuCatalogue, parseHardware, type Gpu } from '../planner/index.js';
import { quote } from '../quote.js';

/**
 * Reads the hardware file the user named (the planner itself does no I/O, so the browser can run it). An id
 * must be new: one that names a catalogue GPU, or another entry of the file, would silently win or lose.
 */
export function loadHardwareFile(path: string): Gpu[] {
  const gpus = parseHardware(readTextFile(path, 'a JSON hardware file describing your GPU'), path);
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
