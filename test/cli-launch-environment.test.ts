import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstSlurmHost, launchContext, slurmTasksPerNode } from '../src/cli/launch-environment.js';
import { runtimeOptions } from '../src/cli/environment.js';
import { rankEnvironment } from '../src/cli/commands/launch.js';
import { UsageError } from '../src/errors.js';

const torchrun = {
  RANK: '3', WORLD_SIZE: '4', LOCAL_RANK: '1', LOCAL_WORLD_SIZE: '2', MASTER_ADDR: 'node-a', MASTER_PORT: '29500',
  TORCHELASTIC_RUN_ID: 'job-7', TORCHELASTIC_USE_AGENT_STORE: 'True', CONVEYOR_JOB_TOKEN: 'secret',
};

test("torchrun's variables place the rank; its agent store is used; the token makes the job", () => {
  const context = launchContext(torchrun)!;
  assert.deepEqual(
    { ...context, identity: undefined },
    { rank: 3, worldSize: 4, localRank: 1, localWorldSize: 2, masterAddr: 'node-a', masterPort: 29500, agentStore: true, identity: undefined, loopbackOnly: false, launcher: 'torchrun' },
  );
  assert.equal(context.identity.token, 'secret');
  assert.notEqual(launchContext({ ...torchrun, TORCHELASTIC_RUN_ID: 'job-8' })!.identity.job, context.identity.job, 'another run is another job');
  assert.equal(launchContext({ ...torchrun, CONVEYOR_JOB_TOKEN: undefined })!.loopbackOnly, true);
});

test('what conveyor launch gives each rank is what torchrun gives it, and reads back the same', () => {
  const job = { nprocPerNode: 2, nnodes: 2, nodeRank: 1, masterAddr: 'node-a', masterPort: 29400, token: 't' };
  const environment = rankEnvironment(job, 1, {});
  for (const [name, value] of Object.entries({ RANK: '3', WORLD_SIZE: '4', LOCAL_RANK: '1', LOCAL_WORLD_SIZE: '2', GROUP_RANK: '1', GROUP_WORLD_SIZE: '2', ROLE_RANK: '3', ROLE_WORLD_SIZE: '4', MASTER_ADDR: 'node-a', MASTER_PORT: '29400', TORCHELASTIC_RESTART_COUNT: '0', OMP_NUM_THREADS: '1' })) {
    assert.equal(environment[name], value, name);
  }
  const context = launchContext(environment)!;
  assert.equal(context.rank, 3);
  assert.equal(context.agentStore, false, 'conveyor launch hosts no agent store: rank 0 hosts the rendezvous store');
});

test('SLURM: srun with more than one task is a launch; the master is the first host of the node list', () => {
  const slurm = { SLURM_PROCID: '5', SLURM_NTASKS: '8', SLURM_LOCALID: '1', SLURM_NODEID: '2', SLURM_TASKS_PER_NODE: '2(x3),2', SLURM_JOB_NODELIST: 'gpu[007-010],login1', SLURM_JOB_ID: '42' };
  const context = launchContext(slurm)!;
  assert.deepEqual([context.rank, context.worldSize, context.localRank, context.localWorldSize, context.masterAddr, context.masterPort, context.launcher], [5, 8, 1, 2, 'gpu007', 29500, 'SLURM']);
  assert.equal(launchContext({ ...slurm, MASTER_PORT: '1234', MASTER_ADDR: 'head' })!.masterAddr, 'head');
  assert.equal(launchContext({ ...slurm, SLURM_NTASKS: '1', SLURM_PROCID: '0' }), undefined, 'one task is a plain run');
  assert.equal(launchContext({}), undefined);
  assert.equal(firstSlurmHost('node[01-04,07],gpu5'), 'node01');
  assert.equal(firstSlurmHost('solo'), 'solo');
  assert.equal(firstSlurmHost('rack1-[3-4]-b,x'), 'rack1-3-b');
  assert.deepEqual(slurmTasksPerNode('2(x3),1'), [2, 2, 2, 1]);
});

test('Kubernetes: an Indexed Job gives the rank as JOB_COMPLETION_INDEX', () => {
  const context = launchContext({ JOB_COMPLETION_INDEX: '2', WORLD_SIZE: '3', MASTER_ADDR: 'trainer-0.trainer', MASTER_PORT: '29500', CONVEYOR_JOB_TOKEN: 's' })!;
  assert.deepEqual([context.rank, context.worldSize, context.localRank, context.localWorldSize, context.launcher], [2, 3, 0, 1, 'a Kubernetes Indexed Job']);
});

test('a launcher variable that makes no sense is one line naming it', () => {
  const cases: [Record<string, string>, string][] = [
    [{ ...torchrun, RANK: '4' }, 'RANK 4 must be below WORLD_SIZE 4'],
    [{ ...torchrun, MASTER_PORT: 'http' }, "MASTER_PORT must be a whole number ≥ 1, got 'http'"],
    // the one rule for counts: the digits to write, and no count past the safe integers (it was taken as 10¹⁷)
    [{ ...torchrun, WORLD_SIZE: '2e0' }, "WORLD_SIZE must be a whole number ≥ 1, got '2e0' (write it in digits: 2)"],
    [{ ...torchrun, WORLD_SIZE: '99999999999999999' }, "WORLD_SIZE must be a whole number ≥ 1, got '99999999999999999' (at most 9007199254740991)"],
    [{ ...torchrun, MASTER_PORT: '70000' }, 'MASTER_PORT must be a port (1 to 65535), got 70000'],
    [{ ...torchrun, MASTER_ADDR: '' }, 'MASTER_ADDR is not set, but RANK and WORLD_SIZE are: set it to the host of global rank 0'],
    [{ RANK: '0', WORLD_SIZE: '2', MASTER_ADDR: 'a' }, 'MASTER_PORT is not set, but RANK and WORLD_SIZE are: a launcher sets it (torchrun, srun, conveyor launch)'],
  ];
  for (const [environment, message] of cases) assert.throws(() => launchContext(environment), (error: Error) => error instanceof UsageError && error.message === message);
});

test('CONVEYOR_STALL_SECONDS, CONVEYOR_POLL_MS and CONVEYOR_FAULT are read once into runtime options', () => {
  assert.deepEqual(runtimeOptions({ CONVEYOR_STALL_SECONDS: '2.5', CONVEYOR_POLL_MS: '0', CONVEYOR_FAULT: 'rank:1,step:2,action:B' }), {
    stallSeconds: 2.5,
    pollMs: 0,
    fault: { rank: 1, step: 2, action: 'B', mode: 'throw' },
  });
  assert.deepEqual(runtimeOptions({}), {});
  for (const [name, value, message] of [
    ['CONVEYOR_POLL_MS', '-3', "CONVEYOR_POLL_MS must be a number of milliseconds, 0 or more, got '-3'"],
    ['CONVEYOR_POLL_MS', 'soon', "CONVEYOR_POLL_MS must be a number of milliseconds, 0 or more, got 'soon'"],
    ['CONVEYOR_STALL_SECONDS', '0', "CONVEYOR_STALL_SECONDS must be a number of seconds above 0, got '0'"],
    // the one rule for numbers: hexadecimal was read as 16 seconds, and a count in exponent form is refused with its digits
    ['CONVEYOR_STALL_SECONDS', '0x10', "CONVEYOR_STALL_SECONDS must be a number of seconds above 0, got '0x10'"],
  ] as const) {
    assert.throws(() => runtimeOptions({ [name]: value }), (error: Error) => error instanceof UsageError && error.message === message);
  }
});
