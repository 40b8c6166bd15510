import type { Command } from 'commander';
import { explain, formatExplanation } from '../../planner/index.js';
import { addJobSourceOptions, formatEngineFindings, readJobSource, type JobSourceOptions } from '../job-source.js';

export function registerExplain(program: Command): void {
  addJobSourceOptions(
    program
      .command('explain')
      .description('Say why a configuration (or an existing Megatron-LM, DeepSpeed or torchtitan job) is slow or does not fit, and what to change.'),
  ).action((options: JobSourceOptions) => {
    const source = readJobSource(options);
    process.stdout.write(`${formatExplanation(explain(source.job))}\n${formatEngineFindings(source)}`);
  });
}
