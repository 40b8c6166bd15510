import { z } from 'zod';
import { UsageError } from '../errors.js';
import { printable } from '../quote.js';
import { describeZodError } from '../zod-message.js';
import type { Gpu } from './hardware.js';

/** Largest figure a hardware file may give in its units (TFLOP/s, GiB, GB/s): a billion times today's chips. */
const MAX_FIGURE = 1e12;

/** A user-defined GPU as written in a hardware file: human units (TFLOP/s, GiB, GB/s). */
const gpuEntry = z.strictObject({
  id: z.string().min(1),
  name: z.string().optional(),
  peakTflopsBf16: z.number().positive(),
  peakTflopsFp8: z.number().positive().optional(),
  memoryGiB: z.number().positive(),
  memoryBandwidthGBs: z.number().positive(),
  intraNodeBandwidthGBs: z.number().positive(),
  gpusPerNode: z.number().int().positive(),
  interNodeBandwidthGBs: z.number().positive(),
  gemmEfficiency: z.number().gt(0).lte(1).default(0.75),
  sms: z.number().int().positive().default(132),
  hostMemoryGiB: z.number().positive().default(1024),
  hostMemoryBandwidthGBs: z.number().positive().default(400),
  pcieBandwidthGBs: z.number().positive().default(32),
});

const hardwareFile = z.union([gpuEntry, z.array(gpuEntry).min(1), z.strictObject({ gpus: z.array(gpuEntry).min(1) })]);

/** Parses the JSON text of a hardware file into GPUs; `source` names the file in messages. */
export function parseHardware(text: string, source: string): Gpu[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`hardware file ${source} is not valid JSON: ${printable((error as Error).message, 80)}`);
  }
  const parsed = hardwareFile.safeParse(json);
  if (!parsed.success) {
    throw new UsageError(`hardware file ${source}: ${describeZodError(parsed.error, json, hardwareFile)}`);
  }
  const entries = Array.isArray(parsed.data) ? parsed.data : 'gpus' in parsed.data ? parsed.data.gpus : [parsed.data];
  return entries.map((entry) => {
    for (const key of [
      'peakTflopsBf16', 'peakTflopsFp8', 'memoryGiB', 'memoryBandwidthGBs', 'intraNodeBandwidthGBs', 'interNodeBandwidthGBs',
      'hostMemoryGiB', 'hostMemoryBandwidthGBs', 'pcieBandwidthGBs',
    ] as const) {
      const value = entry[key];
      // Converted to FLOP/s or bytes, a figure near the largest double overflows and every result would be Infinity.
      if (value !== undefined && value > MAX_FIGURE) {
        throw new UsageError(`hardware file ${source}: GPU '${entry.id}' ${key} ${value} is beyond any real GPU; give a figure below ${MAX_FIGURE}`);
      }
    }
    return {
      id: entry.id,
      name: entry.name ?? entry.id,
      peakBf16: entry.peakTflopsBf16 * 1e12,
      ...(entry.peakTflopsFp8 === undefined ? {} : { peakFp8: entry.peakTflopsFp8 * 1e12 }),
      memoryBytes: entry.memoryGiB * 2 ** 30,
      memoryBandwidth: entry.memoryBandwidthGBs * 1e9,
      intraNodeBandwidth: entry.intraNodeBandwidthGBs * 1e9,
      gpusPerNode: entry.gpusPerNode,
      interNodeBandwidth: entry.interNodeBandwidthGBs * 1e9,
      gemmEfficiency: entry.gemmEfficiency,
      sms: entry.sms,
      hostMemoryBytes: entry.hostMemoryGiB * 2 ** 30,
      hostMemoryBandwidth: entry.hostMemoryBandwidthGBs * 1e9,
      pcieBandwidth: entry.pcieBandwidthGBs * 1e9,
    };
  });
}
