import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { C10dStore } from '../../src/runtime/tcp/c10d-store.js';
import { missingPython, python } from '../python.js';

// PyTorch's own TCPStore server (what torchrun's agent hosts): it prints its port, sets a key, then reads ours.
const server = `
import sys
from datetime import timedelta
import torch.distributed as dist
store = dist.TCPStore('127.0.0.1', 0, 2, True, timedelta(seconds=30), wait_for_workers=False)
print(store.port, flush=True)
store.set('from-torch', 'hello from c10d')
print(store.get('from-conveyor').decode(), flush=True)
`;

test("rendezvous keys go through PyTorch's TCPStore server", { skip: missingPython('torch.distributed') }, async () => {
  const child = spawn(python, ['-c', server], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const port = Number((await lines.next()).value);
    const store = await C10dStore.connect('127.0.0.1', port, Date.now() + 30_000);
    // torch's Python client prefixes its keys with '/'
    assert.equal(await store.get('/from-torch'), 'hello from c10d');
    store.set('/from-conveyor', 'hello from conveyor');
    // several reads at once come back each with its own value
    store.set('/a', '1');
    store.set('/b', '2');
    assert.deepEqual(await Promise.all([store.get('/b'), store.get('/a'), store.get('/from-torch')]), ['2', '1', 'hello from c10d']);
    assert.equal((await lines.next()).value, 'hello from conveyor');
    store.close();
  } finally {
    child.kill();
  }
});
