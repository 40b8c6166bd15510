import type { Command } from 'commander';
import { explain, formatExplanation } from '../../planner/index.js';
import { readJob, type PlannerOptions } from './estimate.js';

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('Say why a configuration is slow or does not fit, and what to change, each change re-estimated.')
    .requiredOption('--config <file>', 'estimate config JSON: { model, cluster, parallel, precision? }')
    .option('--hardware <file>', 'JSON file describing GPUs not in the catalogue')
    .action((options: PlannerOptions & { config: string }) => {
      process.stdout.write(`${formatExplanation(explain(readJob(options.config, options)))}\n`);
    });
}
