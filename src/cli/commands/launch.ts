/**
 * `conveyor launch`: starts this node's ranks of a job the way torchrun does, each a `conveyor train` process
 * with torchrun's environment, so either launcher starts the same job. Its stdout is global rank 0's; it
 * exits non-zero when any rank failed, and stops every rank (SIGKILL after a grace period) once one failed
 * or when it is interrupted itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { constants } from 'node:os';
import { Command } from 'commander';
import { ExitStatus, UsageError } from '../../errors.js';
import { readWholeNumber } from '../../number-text.js';
import { defaultMasterPort } from '../launch-environment.js';

interface LaunchFlags {
  readonly nprocPerNode: string;
  readonly nnodes: string;
  readonly nodeRank: string;
  readonly masterAddr: string;
  readonly masterPort: string;
}

/** Seconds the ranks get to stop on their own, after one failed or the launcher was interrupted, before SIGKILL. */
const graceSeconds = 5;

/** A count flag, by the one rule every command uses (number-text.ts). */
const whole = (flag: string, raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number => readWholeNumber(flag, raw, min, max);

/** What torchrun gives each worker (see torch/distributed/elastic/agent/server/local_elastic_agent.py). */
export function rankEnvironment(
  job: { readonly nprocPerNode: number; readonly nnodes: number; readonly nodeRank: number; readonly masterAddr: string; readonly masterPort: number; readonly token: string },
  localRank: number,
  inherited: NodeJS.ProcessEnv,
): NodeJS.ProcessEnv {
  const worldSize = job.nprocPerNode * job.nnodes;
  const rank = job.nodeRank * job.nprocPerNode + localRank;
  return {
    ...inherited,
    RANK: String(rank),
    WORLD_SIZE: String(worldSize),
    LOCAL_RANK: String(localRank),
    LOCAL_WORLD_SIZE: String(job.nprocPerNode),
    GROUP_RANK: String(job.nodeRank),
    GROUP_WORLD_SIZE: String(job.nnodes),
    ROLE_RANK: String(rank),
    ROLE_WORLD_SIZE: String(worldSize),
    ROLE_NAME: 'default',
    MASTER_ADDR: job.masterAddr,
    MASTER_PORT: String(job.masterPort),
    TORCHELASTIC_RESTART_COUNT: '0',
    TORCHELASTIC_MAX_RESTARTS: '0',
    TORCHELASTIC_RUN_ID: 'none',
    // no agent store here: global rank 0 hosts the rendezvous store itself
    TORCHELASTIC_USE_AGENT_STORE: 'False',
    // as torchrun: several ranks on one node should not each start a thread per core
    OMP_NUM_THREADS: inherited.OMP_NUM_THREADS ?? (job.nprocPerNode > 1 ? '1' : undefined),
    CONVEYOR_JOB_TOKEN: job.token,
  };
}

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 1;
}

async function runLaunch(flags: LaunchFlags, command: readonly string[]): Promise<number> {
  const nprocPerNode = whole('--nproc-per-node', flags.nprocPerNode, 1);
  const nnodes = whole('--nnodes', flags.nnodes, 1);
  const nodeRank = whole('--node-rank', flags.nodeRank, 0, nnodes - 1);
  const masterPort = whole('--master-port', flags.masterPort, 1, 65535);
  const masterAddr = flags.masterAddr;
  if (command[0] !== 'train') throw new UsageError(`conveyor launch runs \`train\` on every rank: give \`-- train ARGS…\`, got \`-- ${command.join(' ')}\``);
  let token = process.env.CONVEYOR_JOB_TOKEN ?? '';
  if (token === '') {
    // each node's launcher would invent another secret, and the nodes would refuse each other
    if (nnodes > 1) throw new UsageError(`--nnodes ${nnodes} needs CONVEYOR_JOB_TOKEN set to one secret on every node (e.g. CONVEYOR_JOB_TOKEN=$(openssl rand -hex 32))`);
    token = randomBytes(32).toString('hex');
  }
  const bin = fileURLToPath(new URL('../../../../bin/conveyor.js', import.meta.url));
  const job = { nprocPerNode, nnodes, nodeRank, masterAddr, masterPort, token };
  const children: ChildProcess[] = [];
  let exitCode: number | undefined;
  let stopping = false;
  let killer: NodeJS.Timeout | undefined;
  /** The ranks stop on their own once one failed (and say why); a signal only when the launcher itself is stopped. */
  const stopAll = (signal?: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    if (signal !== undefined) for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    killer = setTimeout(() => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, graceSeconds * 1000);
  };
  const interrupted = (signal: NodeJS.Signals) => {
    exitCode ??= 128 + signalNumber(signal);
    process.stderr.write(`conveyor launch: ${signal}: stopping every rank\n`);
    stopAll('SIGTERM');
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  const exits = Array.from({ length: nprocPerNode }, (_, localRank) => {
    const rank = nodeRank * nprocPerNode + localRank;
    const child = spawn(process.execPath, [bin, ...command], {
      env: rankEnvironment(job, localRank, process.env),
      stdio: ['ignore', rank === 0 ? 'inherit' : 'ignore', 'inherit'],
    });
    children.push(child);
    return new Promise<void>((resolve) => {
      child.on('error', (error) => {
        process.stderr.write(`conveyor launch: rank ${rank} did not start: ${error.message}\n`);
        exitCode ??= 1;
        stopAll();
        resolve();
      });
      child.on('exit', (code, signal) => {
        if (code !== 0 && !stopping) {
          // the rank said what went wrong unless it was killed before it could
          if (signal !== null) process.stderr.write(`conveyor launch: rank ${rank} (pid ${child.pid}) was killed by ${signal}\n`);
          exitCode ??= code ?? 128 + signalNumber(signal!);
          stopAll();
        } else if (code !== 0) exitCode ??= code ?? 1;
        resolve();
      });
    });
  });
  await Promise.all(exits);
  clearTimeout(killer);
  process.off('SIGINT', interrupted);
  process.off('SIGTERM', interrupted);
  return exitCode ?? 0;
}

export function registerLaunchCommand(program: Command): void {
  program
    .command('launch')
    .description("Start this node's ranks of a multi-process job with torchrun's environment: conveyor launch --nproc-per-node N -- train ARGS…")
    .requiredOption('--nproc-per-node <n>', 'rank processes on this node')
    .option('--nnodes <k>', 'nodes in the job', '1')
    .option('--node-rank <r>', "this node's index, 0 .. nnodes-1", '0')
    .option('--master-addr <host>', 'host of global rank 0 (it hosts the rendezvous store)', '127.0.0.1')
    .option('--master-port <port>', 'port of the rendezvous store', String(defaultMasterPort))
    .argument('<command...>', 'the conveyor command every rank runs: train ARGS…')
    .action(async (command: string[], flags: LaunchFlags) => {
      const code = await runLaunch(flags, command);
      if (code !== 0) throw new ExitStatus(code);
    });
}
