import type { Command } from 'commander';
import { readTextFile } from '../../data/text-file.js';
import {
  estimate, estimateJson, exportPlan, formatEstimate, parseEstimateConfig, type Gpu, type Job,
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
  return parseEstimateConfig(readTextFile(path, 'an estimate config JSON file: { model, cluster, parallel, precision? }'), path, userGpus(options));
}

export function registerEstimate(program: Command): void {
  program
    .command('estimate')
    .description('Predict memory per GPU, step time, TFLOP/s and MFU of one configuration.')
    .requiredOption('--config <file>', 'estimate config JSON: { model, cluster, parallel, precision? }')
    .option('--json', 'print the estimate as JSON')
    .option('--hardware <file>', 'JSON file describing GPUs not in the catalogue')
    .option('--export <engine>', 'print the configuration for megatron, deepspeed or torchtitan instead')
    .action((options: PlannerOptions & { config: string }) => {
      const job = readJob(options.config, options);
      if (options.export !== undefined) {
        process.stdout.write(exportPlan(job, options.export));
        return;
      }
      const result = estimate(job);
      process.stdout.write(options.json ? `${JSON.stringify(estimateJson(result), null, 2)}\n` : `${formatEstimate(result)}\n`);
    });
}
