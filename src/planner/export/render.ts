import { UsageError } from '../../errors.js';
import { quote } from '../../quote.js';
import type { Job, Recompute, ZeroStage } from '../plan.js';
import { deepspeedConfig } from './deepspeed.js';
import { formatMegatronArguments, megatronArguments } from './megatron.js';
import { torchtitanToml } from './torchtitan.js';

export const exportEngines = ['megatron', 'deepspeed', 'torchtitan'] as const;
export type ExportEngine = (typeof exportEngines)[number];

/** What each engine can run at all: the plan search keeps to these when an export is asked for. */
export const exportLimits: Readonly<Record<ExportEngine, { schedules: readonly string[]; zero: readonly ZeroStage[]; recompute: readonly Recompute[] }>> = {
  megatron: { schedules: ['1f1b', 'interleaved-1f1b'], zero: [0, 1, 2, 3], recompute: ['none', 'selective', 'full'] },
  deepspeed: { schedules: ['1f1b'], zero: [0, 1, 2, 3], recompute: ['none', 'full'] },
  torchtitan: { schedules: ['gpipe', '1f1b', 'interleaved-1f1b', 'zb-v'], zero: [0, 2, 3], recompute: ['none', 'selective', 'full'] },
};

export const isExportEngine = (engine: string): engine is ExportEngine => (exportEngines as readonly string[]).includes(engine);

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
      throw unknownEngine(engine);
  }
}

export const unknownEngine = (engine: string): UsageError =>
  new UsageError(`unknown export ${quote(engine)}; choose one of ${exportEngines.join(', ')}`);
