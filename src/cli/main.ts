import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ExitStatus, OutputError, RunFailedError, UsageError } from '../errors.js';
import { commanderMessage } from './commander-message.js';
import { registerDiagnose } from './commands/diagnose.js';
import { registerEstimate } from './commands/estimate.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerExplain } from './commands/explain.js';
import { registerLabCommand } from './commands/lab.js';
import { registerLaunchCommand } from './commands/launch.js';
import { registerPlan } from './commands/plan.js';
import { registerSampleCommand } from './commands/sample.js';
import { registerScheduleCommand } from './commands/schedule.js';
import { registerTrainCommand } from './commands/train.js';

/** Each command module adds itself to the program; main.ts only wires them. */
const commandModules: ((program: Command) => void)[] = [
  registerTrainCommand,
  registerLaunchCommand,
  registerEvalCommand,
  registerSampleCommand,
  registerScheduleCommand,
  registerPlan,
  registerEstimate,
  registerExplain,
  registerDiagnose,
  registerLabCommand,
];

/** The version in package.json, which sits two folders above dist/src/cli/ (and src/cli/). */
function packageVersion(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return packageJson.version;
}

export function buildProgram(): Command {
  const program = new Command('conveyor')
    .description('Pipeline-parallel training in TypeScript: schedules, a GPT across workers, a cluster planner.')
    .version(packageVersion(), '--version', 'print the version')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: () => {} });
  for (const register of commandModules) register(program);
  return program;
}

/** Runs the CLI; returns the exit code (2 for a user's mistake, one line on stderr). */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0; // --help and --version
      // No command at all: commander has already printed the help to stderr.
      if (error.code !== 'commander.help') process.stderr.write(`conveyor: ${commanderMessage(error, program, argv)}\n`);
      return 2;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`conveyor: ${error.message}\n`);
      return 2;
    }
    if (error instanceof OutputError) {
      // The run finished and its summary is printed; only writing some result failed.
      process.stderr.write(`conveyor: ${error.message}\n`);
      return 1;
    }
    if (error instanceof ExitStatus) return error.code;
    if (error instanceof RunFailedError) {
      // Every rank is already stopped; the message says which rank, stage, action and micro-batch.
      const diverged = /loss is (NaN|-?Infinity)$/.test(error.message) ? ' (the run diverged: a smaller --lr, or --clip, keeps it finite)' : '';
      process.stderr.write(`conveyor: ${error.message}${diverged}\n`);
      return 1;
    }
    throw error;
  }
}
