/**
 * A failure anywhere in a job of rank processes stops every process within seconds, non-zero, and one line
 * names the rank, its host, the step, stage, action and micro-batch. Times are asserted loosely.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, freePort, start, startRank, tiny, type Finished } from './processes.js';

const host = hostname();

/** Every error line of a finished process, sorted (which rank writes first is a race). */
function lines(...finished: Finished[]): string[] {
  return finished.flatMap((f) => f.stderr.split('\n').filter((line) => line !== '')).sort();
}

async function launchWithFault(fault: string, stages: number, env: Record<string, string> = {}): Promise<Finished> {
  const command = ['launch', '--nproc-per-node', String(stages), '--master-port', String(await freePort()), '--', 'train', ...tiny, '--steps', '4', '--stages', String(stages)];
  const finished = await start(command, { CONVEYOR_FAULT: fault, ...env }).finished;
  assert.ok(finished.seconds < 20, `the job took ${finished.seconds} s to stop`);
  return finished;
}

test('an exception on one rank process stops the job; rank 0 names where, the rank says what it saw', async () => {
  const finished = await launchWithFault('rank:1,step:2,action:B,microbatch:1', 2);
  assert.equal(finished.code, 1);
  assert.deepEqual(lines(finished), [
    'conveyor: rank 1 on ' + host + ' failed at step 2, stage 1, B micro-batch 1: injected fault (CONVEYOR_FAULT)',
    'conveyor: rank 1: failed at step 2, stage 1, B micro-batch 1: injected fault (CONVEYOR_FAULT)',
  ]);
});

test('a rank process that exits is named with the action it was running', async () => {
  const finished = await launchWithFault('rank:2,step:1,action:F,microbatch:1,mode:exit', 3);
  assert.equal(finished.code, 70);
  const [rank0, rank1] = lines(finished);
  assert.match(rank0!, new RegExp(`^conveyor: rank 1: stopped because rank 2 failed; rank 1 was at step 1, stage 1, `));
  assert.match(rank1!, new RegExp(`^conveyor: rank 2 on ${host} failed at step 1, stage 2, F micro-batch 1: its connection to rank [01] (closed|failed \\(read ECONNRESET\\)): the process exited or was killed$`));
});

test('a rank process killed with SIGKILL stops the whole job within seconds, and no process is left', async () => {
  const port = await freePort();
  const ranks = [0, 1, 2].map((rank) => startRank(rank, 3, port, [...tiny, '--steps', '1000', '--stages', '3']));
  await ranks[0]!.printed('step 3/');
  const killedAt = Date.now();
  ranks[1]!.child.kill('SIGKILL');
  const [first, killed, last] = await Promise.all(ranks.map((rank) => rank.finished));
  assert.ok((Date.now() - killedAt) / 1000 < 5, `stopped ${(Date.now() - killedAt) / 1000} s after the kill`);
  assert.equal(killed!.signal, 'SIGKILL');
  assert.equal(first!.code, 1);
  assert.equal(last!.code, 1);
  assert.match(first!.stderr, new RegExp(`^conveyor: rank 1 on ${host} failed at step \\d+, [^:]+: its connection to rank [02] (closed|failed \\(read ECONNRESET\\)): the process exited or was killed\\n$`));
  assert.match(last!.stderr, /^conveyor: rank 2: stopped because rank 1 failed; rank 2 was at step \d+, /);
});

test('a hung rank process is found by the watchdog and named first', async () => {
  const finished = await launchWithFault('rank:1,step:2,action:F,microbatch:1,mode:hang', 3, { CONVEYOR_STALL_SECONDS: '2' });
  assert.equal(finished.code, 1);
  assert.deepEqual(lines(finished), [
    `conveyor: rank 1 on ${host} failed at step 2, stage 1, F micro-batch 1: stopped making progress: no rank finished an action for 2 s (rank 0: step 2, stage 0, waiting for the input of B micro-batch 0; rank 2: step 2, stage 2, waiting for the input of F micro-batch 1)`,
    'conveyor: rank 1: failed at step 2, stage 1, F micro-batch 1 (rank 0 says why)',
    'conveyor: rank 2: stopped because rank 1 failed; rank 2 was at step 2, stage 2, waiting for the input of F micro-batch 1',
  ]);
});

test('SIGTERM to the launcher stops every rank, and the last complete checkpoint stays whole', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-sigterm-'));
  const running = start(['launch', '--nproc-per-node', '2', '--master-port', String(await freePort()), '--', 'train', ...tiny, '--steps', '1000', '--stages', '2', '--save', dir, '--save-every', '2']);
  await running.printed('step 5/');
  const ranks = spawnSync('pgrep', ['-P', String(running.child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').map(Number);
  assert.equal(ranks.length, 2, 'the launcher runs two rank processes');
  running.child.kill('SIGTERM');
  const finished = await running.finished;
  assert.equal(finished.code, 143);
  assert.match(finished.stderr, /^conveyor launch: SIGTERM: stopping every rank$/m);
  for (const pid of ranks) assert.throws(() => process.kill(pid, 0), /ESRCH/, `rank process ${pid} is gone`);
  // the checkpoint on disk is whole: it loads and evaluates
  const text = tiny[tiny.indexOf('--data') + 1]!;
  const evaluated = spawnSync(process.execPath, [bin, 'eval', '--checkpoint', dir, '--data', text, '--json'], { encoding: 'utf8' });
  assert.equal(evaluated.status, 0, evaluated.stderr);
  assert.ok(JSON.parse(evaluated.stdout).loss > 0);
});
