import type { Command } from 'commander';
import { readTextFile, type SizeLimit } from '../../data/text-file.js';
import { diagnose, diagnosisJson, formatDiagnosis, readTrace, type RankTrace } from '../../planner/diagnose/index.js';
import { parseJsonText } from '../../planner/index.js';

/** A trace larger than this is refused before it is read: JSON.parse would need several times as much memory. */
const MAX_TRACE_BYTES = 512 * 2 ** 20;

const TRACE_LIMIT: SizeLimit = {
  bytes: MAX_TRACE_BYTES,
  refusal: (path, size) => `trace file ${path} is ${(size / 2 ** 20).toFixed(0)} MiB; profile fewer steps (at most ${MAX_TRACE_BYTES / 2 ** 20} MiB per file)`,
};

const TRACE_EXPECTED = 'the Chrome trace of one rank (torch.profiler) or a conveyor --trace file';

function readTraceFile(path: string, index: number): RankTrace[] {
  return readTrace(parseJsonText(readTextFile(path, TRACE_EXPECTED, TRACE_LIMIT), `trace file ${path}`), path, index);
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
