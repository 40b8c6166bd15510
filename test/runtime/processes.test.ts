/**
 * Jobs whose ranks are processes on loopback: started by `conveyor launch` (one node, and two launchers as two
 * nodes), by torchrun, and by hand with SLURM's variables; they train bit for bit what the thread run trains.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreClient } from '../../src/runtime/tcp/store.js';
import { bin, freePort, start, startRank, tiny } from './processes.js';

const job = [...tiny, '--steps', '3', '--stages', '2', '--schedule', 'zb-h1', '--json'];
const torchrun = new URL('../../../.venv/bin/torchrun', import.meta.url).pathname;

function threadRun(): Record<string, any> {
  const result = spawnSync(process.execPath, [bin, 'train', ...job], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

const reference = threadRun();

function assertSameModel(report: Record<string, any>, label: string): void {
  assert.equal(report.paramChecksum, reference.paramChecksum, label);
  assert.deepEqual(report.steps.map((step: any) => step.loss), reference.steps.map((step: any) => step.loss), label);
  assert.equal(report.transport, 'tcp', label);
  assert.equal(report.ranks, 2, label);
  assert.deepEqual(report.hosts, [hostname(), hostname()], label);
}

test('conveyor launch: two rank processes train bit for bit what two threads train; only rank 0 prints', async () => {
  assert.equal(reference.transport, 'threads');
  const finished = await start(['launch', '--nproc-per-node', '2', '--master-port', String(await freePort()), '--', 'train', ...job]).finished;
  assert.equal(finished.code, 0, finished.stderr);
  assert.equal(finished.stderr, '');
  assertSameModel(JSON.parse(finished.stdout), 'conveyor launch');
});

test('data × pipeline: four rank processes (2 stages × 2 replicas) train bit for bit what four threads train', async () => {
  const layout = [...tiny, '--steps', '3', '--stages', '2', '--replicas', '2', '--json'];
  const threads = spawnSync(process.execPath, [bin, 'train', ...layout], { encoding: 'utf8' });
  assert.equal(threads.status, 0, threads.stderr);
  const finished = await start(['launch', '--nproc-per-node', '4', '--master-port', String(await freePort()), '--', 'train', ...layout]).finished;
  assert.equal(finished.code, 0, finished.stderr);
  const [report, reference] = [JSON.parse(finished.stdout), JSON.parse(threads.stdout)];
  assert.equal(report.paramChecksum, reference.paramChecksum);
  assert.deepEqual(report.steps.map((step: any) => step.loss), reference.steps.map((step: any) => step.loss));
  assert.deepEqual([report.ranks, report.replicas, report.stages, report.transport, reference.transport], [4, 2, 2, 'tcp', 'threads']);
});

test('two conveyor launch processes act as the two nodes of one job', async () => {
  const port = String(await freePort());
  const env = { CONVEYOR_JOB_TOKEN: 'shared by both nodes' };
  const node = (rank: number) => start(['launch', '--nproc-per-node', '1', '--nnodes', '2', '--node-rank', String(rank), '--master-port', port, '--', 'train', ...job], env).finished;
  const [first, second] = await Promise.all([node(0), node(1)]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, '', 'only global rank 0 prints');
  assertSameModel(JSON.parse(first.stdout), '--nnodes 2');
  const alone = await start(['launch', '--nproc-per-node', '1', '--nnodes', '2', '--master-port', port, '--', 'train', ...job]).finished;
  assert.equal(alone.code, 2);
  assert.equal(alone.stderr, 'conveyor: --nnodes 2 needs CONVEYOR_JOB_TOKEN set to one secret on every node (e.g. CONVEYOR_JOB_TOKEN=$(openssl rand -hex 32))\n');
});

test('torchrun starts the ranks and they join without a wrapper', { skip: existsSync(torchrun) ? false : `no torchrun at ${torchrun}` }, async () => {
  const root = new URL('../../../', import.meta.url).pathname;
  const running = start(['--no-python', '--nproc-per-node', '2', '--master-port', String(await freePort()), 'npx', 'conveyor', 'train', ...job], { PWD: root }, torchrun);
  const finished = await running.finished;
  assert.equal(finished.code, 0, finished.stderr);
  assertSameModel(JSON.parse(finished.stdout), 'torchrun');
});

test("ranks started with SLURM's variables (srun) meet on the first host of the node list", async () => {
  const port = String(await freePort());
  const slurm = (procid: number) =>
    start(['train', ...job], { SLURM_PROCID: String(procid), SLURM_NTASKS: '2', SLURM_LOCALID: String(procid), SLURM_TASKS_PER_NODE: '2', SLURM_JOB_NODELIST: 'localhost', MASTER_PORT: port, SLURM_JOB_ID: '1' }).finished;
  const [first, second] = await Promise.all([slurm(0), slurm(1)]);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(first.code, 0, first.stderr);
  assertSameModel(JSON.parse(first.stdout), 'SLURM');
});

test('WORLD_SIZE that does not match the stages is one line on every rank, exit 2', async () => {
  const port = await freePort();
  const [first, second] = await Promise.all([0, 1].map((rank) => startRank(rank, 2, port, [...tiny, '--stages', '3']).finished));
  assert.equal(first!.code, 2);
  assert.equal(first!.stderr, 'conveyor: WORLD_SIZE 2 does not match --stages 3 × --replicas 1 = 3: launch 3 ranks, or change --stages or --replicas\n');
  assert.equal(second!.code, 2);
  assert.equal(second!.stderr, 'conveyor: rank 1: WORLD_SIZE 2 does not match --stages 3 × --replicas 1 = 3: launch 3 ranks, or change --stages or --replicas\n');
  const remote = await startRank(0, 1, port, [...tiny, '--stages', '1'], { MASTER_ADDR: '10.11.12.13' }).finished;
  assert.equal(remote.code, 2);
  assert.equal(remote.stderr, 'conveyor: MASTER_ADDR 10.11.12.13 is not a loopback address, and without CONVEYOR_JOB_TOKEN ranks listen on loopback only: set CONVEYOR_JOB_TOKEN to one secret shared by every rank\n');
});

test('a peer with the wrong token is refused with a logged line, and the job completes', async () => {
  const port = await freePort();
  const running = start(['launch', '--nproc-per-node', '2', '--master-port', String(port), '--', 'train', ...job], { CONVEYOR_JOB_TOKEN: 'right' });
  const intruder = StoreClient.connect('127.0.0.1', port, { token: 'wrong', job: `127.0.0.1:${port}/2/none/0` }, 1, Date.now() + 20_000);
  await assert.rejects(intruder, /handshake|closed/);
  const finished = await running.finished;
  assert.equal(finished.code, 0, finished.stderr);
  assert.match(finished.stderr, /^conveyor: rank 0: the rendezvous store refused a connection from 127\.0\.0\.1:\d+: it did not prove the job token\n$/);
  assertSameModel(JSON.parse(finished.stdout), 'after an intruder');
});

test('a checkpoint that rank processes saved (rank 0 gathers it by name) resumes on another topology with the same losses', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-processes-save-'));
  const run = [...tiny, '--steps', '6', '--stages', '2', '--json'];
  const uninterrupted = spawnSync(process.execPath, [bin, 'train', ...run], { encoding: 'utf8' });
  assert.equal(uninterrupted.status, 0, uninterrupted.stderr);
  const crashed = await start(['launch', '--nproc-per-node', '2', '--master-port', String(await freePort()), '--', 'train', ...run, '--save', dir, '--save-every', '2'], {
    CONVEYOR_FAULT: 'rank:1,step:5,action:F,mode:exit',
  }).finished;
  assert.equal(crashed.code, 70, crashed.stderr);
  const resumed = spawnSync(process.execPath, [bin, 'train', ...run, '--resume', dir, '--stages', '1'], { encoding: 'utf8' });
  assert.equal(resumed.status, 0, resumed.stderr);
  const [after, before] = [JSON.parse(resumed.stdout), JSON.parse(uninterrupted.stdout)];
  assert.deepEqual(after.steps.map((step: any) => step.step), [5, 6]);
  assert.deepEqual(after.steps.map((step: any) => step.loss), before.steps.slice(4).map((step: any) => step.loss));
  assert.equal(after.paramChecksum, before.paramChecksum);
});
