import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { parseHardware, type Gpu } from '../planner/index.js';

/** Reads the hardware file the user named: the planner itself does no I/O, so the browser can run it. */
export function loadHardwareFile(path: string): Gpu[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`cannot read hardware file ${path}; give the path of a JSON file describing your GPU`);
  }
  return parseHardware(text, path);
}
