/** A Node worker thread playing a browser's rank worker: its parent port stands in for the worker's own scope. */
import { parentPort } from 'node:worker_threads';
import { Rank } from '../../src/runtime/rank.js';
import type { ClosablePort, RankWorkerStart } from '../../src/runtime/web-workers/ports.js';
import { WebWorkerTransport } from '../../src/runtime/web-workers/worker-transport.js';

// The test runner also loads every file under test/ on the main thread, where there is nothing to do.
if (parentPort !== null) {
  // Node's ports take the browser's addEventListener, with Node's own (looser) typing of the event.
  const scope = parentPort as unknown as ClosablePort;
  parentPort.once('message', (start: RankWorkerStart) => {
    new Rank(new WebWorkerTransport(scope, start.peers), start.rank);
  });
}
