import { Command, CommanderError } from 'commander';
import { ExitStatus, RunFailedError, UsageError } from '../errors.js';
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

export function buildProgram(): Command {
  const program = new Command('conveyor')
    .description('Pipeline-parallel training in TypeScript: schedules, a GPT across workers, a cluster planner.')
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
      process.stderr.write(`conveyor: ${error.message.replace(/^error: /, '')}\n`);
      return 2;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`conveyor: ${error.message}\n`);
      return 2;
    }
    if (error instanceof ExitStatus) return error.code;
    if (error instanceof RunFailedError) {
      // Every rank is already stopped; the message says which rank, stage, action and micro-batch.
      process.stderr.write(`conveyor: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
