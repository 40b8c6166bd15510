import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import {
  estimate, estimateJson, exportFiles, formatEstimate, formatExportFiles, parseEstimateConfig, type Gpu, type Job,
} from '../../planner/index.js';
import { loadHardwareFile } from '../hardware-file.js';

/** Options every planner command shares: a user hardware file and an export engine. */
export interface PlannerOptions {
  readonly hardware?: string;
  readonly export?: string;
  readonly json?: boolean;
}

/** GPUs from the hardware file the user named, if any. */
export const userGpus = (options: PlannerOptions): Gpu[] =>
  options.hardware === undefined ? [] : loadHardwareFile(options.hardware);

/** Reads and parses an estimate config file. */
export function readJob(path: string, options: PlannerOptions): Job {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`cannot read config file ${path}; give the path of an estimate config JSON file`);
  }
  return parseEstimateConfig(text, path, userGpus(options));
}

export function registerEstimate(program: Command): void {
  program
    .command('estimate')
    .description('Predict memory per GPU, step time, TFLOP/s and MFU of one configuration.')
    .requiredOption('--config <file>', 'estimate config JSON: { model, cluster, parallel, precision? }')
    .option('--json', 'print the estimate as JSON')
    .option('--hardware <file>', 'JSON file describing GPUs not in the catalogue')
    .option('--export <engine>', 'print the files megatron, deepspeed, torchtitan or torchtitan-toml reads instead (--json: as JSON)')
    .action((options: PlannerOptions & { config: string }) => {
      const job = readJob(options.config, options);
      if (options.export !== undefined) {
        const files = exportFiles(job, options.export);
        const body = { engine: options.export, plan: estimateJson(estimate(job)), files };
        process.stdout.write(options.json ? `${JSON.stringify(body, null, 2)}\n` : formatExportFiles(files));
        return;
      }
      const result = estimate(job);
      process.stdout.write(options.json ? `${JSON.stringify(estimateJson(result), null, 2)}\n` : `${formatEstimate(result)}\n`);
    });
}
