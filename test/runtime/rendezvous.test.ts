import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo } from 'node:net';
import { encodeHeader } from '../../src/runtime/frames.js';
import { Connection } from '../../src/runtime/tcp/connection.js';
import { connectPeer } from '../../src/runtime/tcp/handshake.js';
import { rendezvous, type LaunchContext } from '../../src/runtime/tcp/rendezvous.js';
import { StoreClient } from '../../src/runtime/tcp/store.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function context(rank: number, worldSize: number, masterPort: number, token: string): LaunchContext {
  return { rank, worldSize, localRank: rank, localWorldSize: worldSize, masterAddr: '127.0.0.1', masterPort, agentStore: false, identity: { token, job: `test:${masterPort}` }, loopbackOnly: false, launcher: 'the test' };
}

test('ranks meet through the store and link every pair; peers without the token are refused and logged, and the job goes on', async () => {
  const port = await freePort();
  const logs: string[][] = [[], [], []];
  const meshes = [0, 1, 2].map((rank) => rendezvous(context(rank, 3, port, 'right'), (line) => logs[rank]!.push(line)));
  // an intruder at the store while the ranks meet
  const intruder = StoreClient.connect('127.0.0.1', port, { token: 'wrong', job: `test:${port}` }, 1, Date.now() + 10_000);
  await assert.rejects(intruder);
  const [rank0, rank1, rank2] = await Promise.all(meshes);
  assert.deepEqual(rank0!.links.map((link) => link !== undefined), [false, true, true]);
  assert.deepEqual(rank2!.links.map((link) => link !== undefined), [true, true, false]);
  assert.deepEqual(rank1!.hosts.length, 3);
  // an intruder at rank 0's own port, found through the store with the right token
  const reader = await StoreClient.connect('127.0.0.1', port, { token: 'right', job: `test:${port}` }, 2, Date.now() + 10_000);
  const address = JSON.parse(await reader.get(`/conveyor/test:${port}/rank/0`)) as { host: string; port: number };
  reader.close();
  const socket = connect(address.port, address.host);
  await new Promise((resolve) => socket.once('connect', resolve));
  await assert.rejects(connectPeer(new Connection(socket, 'rank 0'), { token: 'wrong', job: `test:${port}` }, 1, 0));
  // the links still carry messages
  const received = new Promise<unknown>((resolve) => rank0!.links[2]!.on({ control: (json) => resolve(JSON.parse(new TextDecoder().decode(json))) }));
  rank2!.links[0]!.connection.sendMessage({ hello: 'rank 0' });
  assert.deepEqual(await received, { hello: 'rank 0' });
  const refusals = logs.flat().filter((line) => /it did not prove the job token/.test(line));
  assert.equal(refusals.length, 2, logs.flat().join('\n'));
  assert.match(refusals[0]!, /^(the rendezvous store )?refused a connection from 127\.0\.0\.1:\d+: it did not prove the job token$/);
  for (const mesh of [rank0, rank1, rank2]) mesh!.close();
});

test('a peer that sends a malformed or oversized frame is dropped with a message that names it', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sent = async (bytes: Uint8Array): Promise<string> => {
    const accepted = new Promise<string>((resolve) =>
      server.once('connection', (socket) => new Connection(socket, 'rank 7 (the test)').listen({ closed: resolve })),
    );
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    client.write(bytes);
    const reason = await accepted;
    client.destroy();
    return reason;
  };
  assert.equal(await sent(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n' + ' '.repeat(40))), 'rank 7 (the test) sent a malformed frame: not a Conveyor frame (bad magic)');
  const huge = encodeHeader({ type: 'tensor', dtype: 'float32', shape: [1 << 28], payload: 'activation', stage: 0, microbatch: 0, byteLength: 1 << 30 });
  assert.equal(await sent(huge), 'rank 7 (the test) sent a malformed frame: a tensor frame is not expected here');
  server.close();
});
