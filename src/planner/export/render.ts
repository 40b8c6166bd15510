import { UsageError } from '../../errors.js';
import type { Job } from '../plan.js';
import { deepspeedConfig } from './deepspeed.js';
import { formatMegatronArguments, megatronArguments } from './megatron.js';
import { torchtitanToml } from './torchtitan.js';

export const exportEngines = ['megatron', 'deepspeed', 'torchtitan'] as const;
export type ExportEngine = (typeof exportEngines)[number];

/** The plan as the text an engine reads: Megatron-LM arguments, a DeepSpeed JSON file, or torchtitan TOML. */
export function exportPlan(job: Job, engine: string): string {
  switch (engine) {
    case 'megatron':
      return `${formatMegatronArguments(megatronArguments(job))}\n`;
    case 'deepspeed':
      return `${JSON.stringify(deepspeedConfig(job), null, 2)}\n`;
    case 'torchtitan':
      return torchtitanToml(job);
    default:
      throw new UsageError(`unknown export '${engine}'; choose one of ${exportEngines.join(', ')}`);
  }
}
