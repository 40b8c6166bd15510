import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { diagnose, diagnosisJson, formatDiagnosis, readTrace, type RankTrace } from '../../planner/diagnose/index.js';

/** A trace larger than this is refused before it is read: JSON.parse would need several times as much memory. */
const MAX_TRACE_BYTES = 512 * 2 ** 20;

function readTraceFile(path: string, index: number): RankTrace[] {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new UsageError(`cannot read trace file ${path}; give the Chrome trace of one rank (torch.profiler) or a conveyor --trace file`);
  }
  if (size > MAX_TRACE_BYTES) {
    throw new UsageError(`trace file ${path} is ${(size / 2 ** 20).toFixed(0)} MiB; profile fewer steps (at most ${MAX_TRACE_BYTES / 2 ** 20} MiB per file)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`trace file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return readTrace(json, path, index);
}

export function registerDiagnose(program: Command): void {
  program
    .command('diagnose')
    .description('Read the traces of a pipeline-parallel run (one file per rank) and say where its time went and what to change.')
    .argument('<trace...>', 'torch.profiler Chrome traces (one per rank, rank from distributedInfo) or a conveyor train --trace file')
    .option('--json', 'print the diagnosis as JSON')
    .action((paths: string[], options: { json?: boolean }) => {
      const result = diagnose(paths.flatMap((path, index) => readTraceFile(path, index)));
      process.stdout.write(options.json ? `${JSON.stringify(diagnosisJson(result), null, 2)}\n` : `${formatDiagnosis(result)}\n`);
    });
}
