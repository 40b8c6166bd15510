import type { Command } from 'commander';
import {
  estimate, estimateJson, exportFiles, formatEstimate, formatExportFiles, type Gpu,
} from '../../planner/index.js';
import { loadHardwareFile } from '../hardware-file.js';
import { addJobSourceOptions, formatEngineFindings, readJobSource, type JobSourceOptions } from '../job-source.js';

/** Options every planner command shares: a user hardware file and an export engine. */
export interface PlannerOptions {
  readonly hardware?: string;
  readonly export?: string;
  readonly json?: boolean;
}

/** GPUs from the hardware file the user named, if any. */
export const userGpus = (options: PlannerOptions): Gpu[] =>
  options.hardware === undefined ? [] : loadHardwareFile(options.hardware);

export function registerEstimate(program: Command): void {
  addJobSourceOptions(
    program
      .command('estimate')
      .description('Predict memory per GPU, step time, TFLOP/s and MFU of one configuration, or of an existing engine job.'),
  )
    .option('--json', 'print the estimate as JSON')
    .option('--export <engine>', 'print the files megatron, deepspeed, torchtitan or torchtitan-toml reads instead (--json: as JSON)')
    .action((options: JobSourceOptions & PlannerOptions) => {
      const source = readJobSource(options);
      const job = source.job;
      if (options.export !== undefined) {
        const files = exportFiles(job, options.export);
        const body = { engine: options.export, plan: estimateJson(estimate(job)), files };
        process.stdout.write(options.json ? `${JSON.stringify(body, null, 2)}\n` : formatExportFiles(files));
        return;
      }
      const result = estimate(job);
      if (options.json) {
        const body = source.engineName === undefined ? estimateJson(result) : { ...estimateJson(result), engineFindings: source.findings };
        process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${formatEstimate(result)}\n${formatEngineFindings(source)}`);
    });
}
