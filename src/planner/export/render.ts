import { UsageError } from '../../errors.js';
import { quote } from '../../quote.js';
import type { Job } from '../plan.js';
import { describePlan } from '../report.js';
import { deepspeedRun } from './deepspeed.js';
import { formatMegatronLaunch, megatronLaunch } from './megatron.js';
import { checkedAgainst, exportEngines, type ExportEngine } from './sources.js';
import { torchtitanConfigFunction, torchtitanOverrideBase, torchtitanOverrides, torchtitanToml } from './torchtitan.js';

/** One file of an export: its conventional name and its text. */
export interface ExportFile {
  readonly name: string;
  readonly text: string;
}

export const isExportEngine = (engine: string): engine is ExportEngine => (exportEngines as readonly string[]).includes(engine);

export const unknownEngine = (engine: string): UsageError =>
  new UsageError(`unknown export ${quote(engine)}; choose one of ${exportEngines.join(', ')}`);

/** Comment lines every file that can hold comments starts with: the plan, the engine code checked, any notes. */
function header(job: Job, engine: ExportEngine, notes: readonly string[], marker: string): string {
  const lines = [
    `${job.model.name} on ${job.gpus} × ${job.gpu.id} (${job.precision}): ${describePlan(job)}`,
    `written by conveyor, ${checkedAgainst(engine)}`,
    ...notes,
  ];
  return lines.map((line) => `${marker} ${line}`).join('\n');
}

const torchrun = (job: Job): string => {
  const perNode = Math.min(job.gpus, job.gpu.gpusPerNode);
  const nodes = Math.ceil(job.gpus / perNode);
  return `torchrun --nproc-per-node ${perNode} --nnodes ${nodes}${nodes > 1 ? ' --node-rank "$NODE_RANK" --rdzv-endpoint "$MASTER_ADDR:29500"' : ''}`;
};

function torchtitanFiles(job: Job, notes: readonly string[]): ExportFile[] {
  const module = 'conveyor_plan';
  const source = torchtitanConfigFunction(job);
  const name = /^def (\w+)\(/m.exec(source)![1]!;
  const run = [
    header(job, 'torchtitan', notes, '#'),
    `# ${module}.py must be importable (e.g. beside torchtitan's own checkout, from whose root this runs)`,
    `${torchrun(job)} -m torchtitan.train --module ${module} --config ${name}`,
  ];
  const base = torchtitanOverrideBase(job);
  if (base !== undefined) {
    run.push(
      '# the same run as command-line overrides of torchtitan\'s own config (frozen for removal; kept for old scripts):',
      `# ${torchrun(job)} -m torchtitan.train --module llama3 --config ${base} ${torchtitanOverrides(job).join(' ')}`,
    );
  }
  return [
    { name: `${module}.py`, text: `${header(job, 'torchtitan', notes, '#')}\n${source}` },
    { name: 'run.sh', text: `${run.join('\n')}\n` },
  ];
}

/** The plan as the files an engine reads. `notes` (why this plan, what was given up) go into their comments. */
export function exportFiles(job: Job, engine: string, notes: readonly string[] = []): ExportFile[] {
  if (!isExportEngine(engine)) throw unknownEngine(engine);
  switch (engine) {
    case 'megatron': {
      const launch = formatMegatronLaunch(megatronLaunch(job));
      const todo = '# add your data, tokenizer, optimizer, learning-rate and checkpoint flags to the pretrain_gpt.py command';
      return [{ name: 'launch.sh', text: `#!/bin/bash\n${header(job, engine, notes, '#')}\n${todo}\n${launch}\n` }];
    }
    case 'deepspeed': {
      const run = deepspeedRun(job);
      return [
        { name: 'ds_config.json', text: `${JSON.stringify(run.config, null, 2)}\n` },
        { name: 'train.py', text: `${header(job, engine, notes, '#')}\n${run.python.join('\n')}\n` },
      ];
    }
    case 'torchtitan':
      return torchtitanFiles(job, notes);
    case 'torchtitan-toml':
      return [{ name: 'plan.toml', text: `${header(job, engine, notes, '#')}\n${torchtitanToml(job)}` }];
  }
}

/** The files as one text: a single file as it is, several each under a `==> name <==` line. */
export function formatExportFiles(files: readonly ExportFile[]): string {
  if (files.length === 1) return files[0]!.text;
  return files.map((file) => `==> ${file.name} <==\n${file.text}`).join('\n');
}

/** The plan as the text an engine reads. */
export const exportPlan = (job: Job, engine: string, notes: readonly string[] = []): string =>
  formatExportFiles(exportFiles(job, engine, notes));
