import type { Command } from 'commander';
import { readTextFile } from '../data/text-file.js';
import { UsageError } from '../errors.js';
import { readWholeNumber } from '../number-text.js';
import {
  engineRefusals, findPreset, importedConfig, jobFromConfig, parseDeepspeedConfig, parseEstimateConfig, parseMegatronArgs,
  parseModelFile, parseTorchtitanOverrides, type Gpu, type ImportedJob, type Job, type ModelShape,
} from '../planner/index.js';
import { loadHardwareFile } from './hardware-file.js';

/** Where estimate and explain take a job from: an estimate config, or an existing job's engine settings. */
export interface JobSourceOptions {
  readonly hardware?: string;
  readonly config?: string;
  readonly model?: string;
  readonly seqLen?: string;
  readonly megatronArgs?: string;
  readonly megatronArgsFile?: string;
  readonly torchtitanOverrides?: string;
  readonly deepspeed?: string;
  readonly gpu?: string;
  readonly gpus?: string;
  readonly tp?: string;
  readonly pp?: string;
}

/** A job and, when it came from an engine's settings, what that engine would refuse or misread in them. */
export interface JobFromSource {
  readonly job: Job;
  readonly engineName?: string;
  readonly findings: readonly string[];
}

/** A regular file only: /dev/zero or a pipe nobody writes would be read for ever. */
export function readText(path: string, what: string): string {
  return readTextFile(path, `${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what}`);
}

/** The flags of every job source; exactly one source is given. */
export function addJobSourceOptions(command: Command): Command {
  return command
    .option('--config <file>', 'estimate config JSON: { model, cluster, parallel, precision? }')
    .option('--megatron-args <text>', 'a Megatron-LM launch: pretrain_gpt.py flags, or the whole torchrun line')
    .option('--megatron-args-file <file>', 'a Megatron-LM launch script (environment lines, torchrun and its flags)')
    .option('--torchtitan-overrides <text>', 'torchtitan --section.option overrides (current or v0.2.2 names); needs --model')
    .option('--deepspeed <file>', 'a DeepSpeed ds_config.json; needs --model, and --tp/--pp where the JSON cannot say them')
    .option('--model <id|file.json>', 'a preset, a Hugging Face config.json or a JSON model shape (replaces the config\'s model)')
    .option('--seq-len <n>', 'sequence length (default: the model\'s)')
    .option('--gpu <id>', 'GPU kind for engine settings (default h100-sxm)')
    .option('--gpus <n>', 'GPU count, where the settings do not say it')
    .option('--tp <n>', 'tensor-parallel degree, where the settings do not say it')
    .option('--pp <n>', 'pipeline-parallel degree, where the settings do not say it')
    .option('--hardware <file>', 'JSON file describing GPUs not in the catalogue');
}

function count(flag: string, text: string | undefined): number | undefined {
  return text === undefined ? undefined : readWholeNumber(flag, text, 1);
}

/** A preset id, or a model file (Hugging Face config.json or Conveyor's shape), with --seq-len applied. */
export function resolveModelOption(text: string, seqLen: string | undefined): ModelShape {
  const model = text.endsWith('.json') ? parseModelFile(readText(text, 'model file (a Hugging Face config.json or a JSON model shape), or a preset id'), text) : findPreset(text);
  const seqLength = count('--seq-len', seqLen);
  return seqLength === undefined ? model : { ...model, seqLength };
}

const engineNames = { megatron: 'Megatron-LM', deepspeed: 'DeepSpeed', torchtitan: 'torchtitan' } as const;

function importedJob(options: JobSourceOptions, model: ModelShape | undefined): { imported: ImportedJob; source: string } | undefined {
  if (options.megatronArgs !== undefined) return { imported: parseMegatronArgs(options.megatronArgs, '--megatron-args'), source: '--megatron-args' };
  if (options.megatronArgsFile !== undefined) {
    const path = options.megatronArgsFile;
    return { imported: parseMegatronArgs(readText(path, 'launch script'), path), source: path };
  }
  if (options.torchtitanOverrides !== undefined) {
    return { imported: parseTorchtitanOverrides(options.torchtitanOverrides, '--torchtitan-overrides', model?.seqLength), source: '--torchtitan-overrides' };
  }
  if (options.deepspeed !== undefined) {
    const path = options.deepspeed;
    return { imported: parseDeepspeedConfig(readText(path, 'DeepSpeed config'), path, count('--tp', options.tp), count('--pp', options.pp), count('--gpus', options.gpus)), source: path };
  }
  return undefined;
}

/** Reads the job the options name; a usage error when none or several sources are given. */
export function readJobSource(options: JobSourceOptions): JobFromSource {
  const given = (['config', 'megatronArgs', 'megatronArgsFile', 'torchtitanOverrides', 'deepspeed'] as const).filter((key) => options[key] !== undefined);
  if (given.length !== 1) {
    throw new UsageError('give exactly one of --config, --megatron-args, --megatron-args-file, --torchtitan-overrides, --deepspeed');
  }
  const extraGpus: Gpu[] = options.hardware === undefined ? [] : loadHardwareFile(options.hardware);
  const model = options.model === undefined ? undefined : resolveModelOption(options.model, options.seqLen);
  const seqLength = count('--seq-len', options.seqLen);
  const sized = (job: Job): Job => (seqLength === undefined ? job : { ...job, model: { ...job.model, seqLength } });
  if (options.config !== undefined) {
    const job = parseEstimateConfig(readText(options.config, 'estimate config JSON file: { model, cluster, parallel, precision? }'), options.config, extraGpus);
    return { job: sized(model === undefined ? job : { ...job, model }), findings: [] };
  }
  const { imported, source } = importedJob(options, model)!;
  const config = importedConfig(imported, {
    source, gpu: options.gpu ?? 'h100-sxm',
    ...(model === undefined ? {} : { model }),
    ...(count('--gpus', options.gpus) === undefined ? {} : { gpus: count('--gpus', options.gpus)! }),
    ...(count('--tp', options.tp) === undefined ? {} : { tp: count('--tp', options.tp)! }),
    ...(count('--pp', options.pp) === undefined ? {} : { pp: count('--pp', options.pp)! }),
  });
  const job = sized(jobFromConfig(config, source, extraGpus));
  // The reader names what it saw in the settings; Megatron's plan-level rules (schedules, equal chunks) come on top.
  // (DeepSpeed's and torchtitan's readers check their rules on the settings themselves.)
  const planLevel = imported.engine === 'megatron' ? engineRefusals('megatron', job) : [];
  return { job, engineName: engineNames[imported.engine], findings: [...imported.findings, ...planLevel] };
}

/** The engine's refusals as lines under an estimate or explanation. */
export function formatEngineFindings(source: JobFromSource): string {
  if (source.engineName === undefined) return '';
  if (source.findings.length === 0) return `\n${source.engineName} would accept these settings as they are (checks of docs/engines.md).\n`;
  return `\n${source.engineName} would refuse or misread these settings:\n${source.findings.map((line) => `* ${line}.`).join('\n')}\n`;
}
