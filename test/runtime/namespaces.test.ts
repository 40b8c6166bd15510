/**
 * Two hosts for real: two network namespaces joined by a veth pair, each with an address of its own, one rank
 * in each. Runs only as root where `ip netns` works (skipped otherwise); the namespaces go away afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { bin, start, tiny, type Finished } from './processes.js';

const suffix = String(process.pid % 100000);
const spaces = [`cv${suffix}a`, `cv${suffix}b`];
const addresses = ['10.213.7.1', '10.213.7.2'];

function ip(...args: string[]): boolean {
  return spawnSync('ip', args, { stdio: 'ignore' }).status === 0;
}

function setUp(): boolean {
  if (process.getuid?.() !== 0 || !ip('netns', 'add', spaces[0]!)) return false;
  return (
    ip('netns', 'add', spaces[1]!) &&
    ip('link', 'add', `${spaces[0]}v`, 'type', 'veth', 'peer', 'name', `${spaces[1]}v`) &&
    spaces.every(
      (space, i) =>
        ip('link', 'set', `${space}v`, 'netns', space) &&
        ip('-n', space, 'addr', 'add', `${addresses[i]}/24`, 'dev', `${space}v`) &&
        ip('-n', space, 'link', 'set', `${space}v`, 'up') &&
        ip('-n', space, 'link', 'set', 'lo', 'up'),
    )
  );
}

function tearDown(): void {
  for (const space of spaces) ip('netns', 'delete', space);
}

const ready = setUp();

test('two ranks on two hosts (network namespaces over a veth pair) train what two threads train', { skip: ready ? false : 'needs root and ip netns' }, async () => {
  try {
    const job = ['train', ...tiny, '--steps', '3', '--stages', '2', '--json'];
    const threads = spawnSync(process.execPath, [bin, ...job], { encoding: 'utf8' });
    assert.equal(threads.status, 0, threads.stderr);
    const rank = (index: number, token?: string): Promise<Finished> =>
      start(['netns', 'exec', spaces[index]!, process.execPath, bin, ...job], {
        RANK: String(index),
        WORLD_SIZE: '2',
        LOCAL_RANK: '0',
        LOCAL_WORLD_SIZE: '1',
        MASTER_ADDR: addresses[0],
        MASTER_PORT: '29500',
        CONVEYOR_JOB_TOKEN: token,
      }, 'ip').finished;
    const [first, second] = await Promise.all([rank(0, 'between hosts'), rank(1, 'between hosts')]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    const report = JSON.parse(first.stdout);
    assert.equal(report.transport, 'tcp');
    assert.equal(report.paramChecksum, JSON.parse(threads.stdout).paramChecksum);
    // without a token a rank will not listen beyond loopback
    const refused = await rank(1);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /MASTER_ADDR 10\.213\.7\.1 is not a loopback address, and without CONVEYOR_JOB_TOKEN/);
  } finally {
    tearDown();
  }
});

if (!ready) tearDown();
