// The Web Worker transport carries a real pipeline: checked in Node, whose ports speak the browser's API,
// against the worker-thread transport, bitwise. (The browser itself runs it in train.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel, Worker } from 'node:worker_threads';
import { generateSchedule, isCompute } from '../../src/schedule/index.js';
import { runTraining } from '../../src/runtime/train.js';
import type { ClosablePort, WorkerHandle } from '../../src/runtime/web-workers/ports.js';
import { WebWorkerRanks } from '../../src/runtime/web-workers/worker-ranks.js';
import { tinyConfig, tinyCorpus, tinyOptions } from '../runtime/helpers.js';

/** Node's MessageChannel, whose ports take the browser's addEventListener (Node types the event more loosely). */
const channel = () => new MessageChannel() as unknown as { port1: ClosablePort; port2: ClosablePort };

/** A worker thread behind the browser Worker's interface. */
function startWorker(): WorkerHandle {
  const worker = new Worker(new URL('./node-rank-worker.js', import.meta.url));
  return {
    postMessage: (message, transfer) => worker.postMessage(message, transfer as never),
    addEventListener: (type: string, listener: (event: { data: unknown; message?: string }) => void) => {
      if (type === 'message') worker.on('message', (data) => listener({ data }));
      else if (type === 'error') worker.on('error', (error) => listener({ data: undefined, message: error.message }));
      else worker.on('messageerror', () => listener({ data: undefined }));
    },
    terminate: () => void worker.terminate(),
  };
}

test('zb-v on 3 ranks over the Web Worker transport trains bitwise as over worker threads', async () => {
  const options = tinyOptions({ stages: '3', schedule: 'zb-v', layers: '4' });
  const schedule = generateSchedule('zb-v', { ranks: 3, microbatches: options.microbatches });
  const setup = { options, config: tinyConfig(options), schedule, corpus: tinyCorpus(options), start: { step: 0 } };
  const threads = await runTraining(setup);
  const webWorkers = await runTraining({ ...setup, ranks: new WebWorkerRanks(3, startWorker, channel) });
  assert.equal(webWorkers.transport, 'web-workers');
  assert.deepEqual(webWorkers.steps.map((step) => step.loss), threads.steps.map((step) => step.loss));
  assert.equal(webWorkers.paramChecksum, threads.paramChecksum);
  assert.equal(webWorkers.timeline.events.filter((event) => isCompute(event.action)).length, 3 * 2 * 4 * 3, 'every F, I and W of 6 stages × 4 micro-batches was measured');
});

test('a rank that fails over the Web Worker transport stops the run and says where', async () => {
  const options = tinyOptions({ stages: '2' });
  const schedule = generateSchedule('1f1b', { ranks: 2, microbatches: options.microbatches });
  const run = runTraining({
    options, config: tinyConfig(options), schedule, corpus: tinyCorpus(options), start: { step: 0 },
    runtime: { fault: { rank: 1, step: 2, action: 'B', mode: 'exit' } },
    ranks: new WebWorkerRanks(2, startWorker, channel),
  });
  await assert.rejects(run, /rank 1 .*worker ended itself with code/);
});
