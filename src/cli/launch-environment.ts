/**
 * Whether this process is one rank of a launched job, and where it stands, from the variables launchers
 * set: torchrun's (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT; also what
 * `conveyor launch`, Kubernetes' PyTorchJob or an Indexed Job with JOB_COMPLETION_INDEX set), else SLURM's
 * (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, the first host of SLURM_JOB_NODELIST) when srun started more than
 * one task. CONVEYOR_JOB_TOKEN is the job's shared secret.
 */
import { UsageError } from '../errors.js';
import { readWholeNumber } from '../number-text.js';
import type { LaunchContext } from '../runtime/tcp/rendezvous.js';
import type { Environment } from './environment.js';

/** torchrun's default master port. */
export const defaultMasterPort = 29500;

function whole(environment: Environment, name: string, min: number): number | undefined {
  const raw = environment[name];
  if (raw === undefined || raw === '') return undefined;
  return readWholeNumber(name, raw.trim(), min);
}

function required(environment: Environment, name: string, min: number, because: string): number {
  const value = whole(environment, name, min);
  if (value === undefined) throw new UsageError(`${name} is not set, but ${because}: a launcher sets it (torchrun, srun, conveyor launch)`);
  return value;
}

/**
 * The first host of a SLURM node list: "node[01-04,07],gpu5" → "node01" (bracket ranges keep their zero padding).
 */
export function firstSlurmHost(nodeList: string): string {
  const first = nodeList.trim().match(/^[^,[]*(\[[^\]]*\])?[^,]*/)![0];
  const bracket = first.match(/^(.*?)\[([^\]]*)\](.*)$/);
  if (bracket === null) return first;
  const [, prefix, ranges, suffix] = bracket;
  const start = ranges!.split(',')[0]!.split('-')[0]!;
  return `${prefix}${start}${suffix}`;
}

/** SLURM_TASKS_PER_NODE ("2(x3),1") expanded to a count per node ([2, 2, 2, 1]). */
export function slurmTasksPerNode(text: string): number[] {
  return text.split(',').flatMap((part) => {
    const match = part.trim().match(/^(\d+)(?:\(x(\d+)\))?$/);
    if (match === null) throw new UsageError(`SLURM_TASKS_PER_NODE '${text}' is not SLURM's form, e.g. 2(x3),1`);
    return new Array<number>(Number(match[2] ?? 1)).fill(Number(match[1]));
  });
}

function inRange(name: string, value: number, size: number, sizeName: string): number {
  if (value >= size) throw new UsageError(`${name} ${value} must be below ${sizeName} ${size}`);
  return value;
}

/** The job identity: the same for every rank of one job and different for two jobs on the same master. */
function jobName(environment: Environment, masterAddr: string, masterPort: number, worldSize: number): string {
  const run = environment.TORCHELASTIC_RUN_ID ?? (environment.SLURM_JOB_ID ? `slurm-${environment.SLURM_JOB_ID}.${environment.SLURM_STEP_ID ?? ''}` : '');
  return `${masterAddr}:${masterPort}/${worldSize}/${run}/${environment.TORCHELASTIC_RESTART_COUNT ?? 0}`;
}

export function launchContext(environment: Environment): LaunchContext | undefined {
  const token = environment.CONVEYOR_JOB_TOKEN ?? '';
  const torchrunStyle = environment.WORLD_SIZE !== undefined && (environment.RANK !== undefined || environment.JOB_COMPLETION_INDEX !== undefined);
  const slurmTasks = whole(environment, 'SLURM_NTASKS', 1);
  if (!torchrunStyle && !(environment.SLURM_PROCID !== undefined && slurmTasks !== undefined && slurmTasks > 1)) return undefined;
  let rank: number;
  let worldSize: number;
  let localRank: number;
  let localWorldSize: number;
  let masterAddr: string;
  let masterPort: number;
  let launcher: string;
  if (torchrunStyle) {
    const rankName = environment.RANK !== undefined ? 'RANK' : 'JOB_COMPLETION_INDEX';
    worldSize = required(environment, 'WORLD_SIZE', 1, 'RANK is');
    rank = inRange(rankName, required(environment, rankName, 0, 'WORLD_SIZE is'), worldSize, 'WORLD_SIZE');
    localWorldSize = whole(environment, 'LOCAL_WORLD_SIZE', 1) ?? 1;
    localRank = inRange('LOCAL_RANK', whole(environment, 'LOCAL_RANK', 0) ?? 0, localWorldSize, 'LOCAL_WORLD_SIZE');
    const addr = environment.MASTER_ADDR;
    if (addr === undefined || addr === '') throw new UsageError('MASTER_ADDR is not set, but RANK and WORLD_SIZE are: set it to the host of global rank 0');
    masterAddr = addr;
    masterPort = required(environment, 'MASTER_PORT', 1, 'RANK and WORLD_SIZE are');
    launcher = environment.TORCHELASTIC_RUN_ID ? 'torchrun' : rankName === 'JOB_COMPLETION_INDEX' ? 'a Kubernetes Indexed Job' : 'the environment (RANK, WORLD_SIZE)';
  } else {
    worldSize = slurmTasks!;
    rank = inRange('SLURM_PROCID', required(environment, 'SLURM_PROCID', 0, 'SLURM_NTASKS is'), worldSize, 'SLURM_NTASKS');
    localRank = whole(environment, 'SLURM_LOCALID', 0) ?? 0;
    const perNode = environment.SLURM_TASKS_PER_NODE ? slurmTasksPerNode(environment.SLURM_TASKS_PER_NODE) : undefined;
    localWorldSize = whole(environment, 'SLURM_NTASKS_PER_NODE', 1) ?? perNode?.[whole(environment, 'SLURM_NODEID', 0) ?? 0] ?? 1;
    const nodeList = environment.SLURM_JOB_NODELIST ?? environment.SLURM_NODELIST;
    const addr = environment.MASTER_ADDR || (nodeList ? firstSlurmHost(nodeList) : undefined);
    if (addr === undefined) throw new UsageError('neither MASTER_ADDR nor SLURM_JOB_NODELIST is set: set MASTER_ADDR to the host of task 0');
    masterAddr = addr;
    masterPort = whole(environment, 'MASTER_PORT', 1) ?? defaultMasterPort;
    launcher = 'SLURM';
  }
  if (masterPort > 65535) throw new UsageError(`MASTER_PORT must be a port (1 to 65535), got ${masterPort}`);
  return {
    rank,
    worldSize,
    localRank,
    localWorldSize,
    masterAddr,
    masterPort,
    agentStore: environment.TORCHELASTIC_USE_AGENT_STORE === 'True',
    identity: { token, job: jobName(environment, masterAddr, masterPort, worldSize) },
    loopbackOnly: token === '',
    launcher,
  };
}
