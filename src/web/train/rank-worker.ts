/**
 * One rank in a Web Worker: the first message says which rank this is and carries its ports to the other
 * ranks; then the runtime's own rank loop runs over the Web Worker transport, exactly as in a worker thread.
 * The kernels come with the driver's 'kernels' request (the WebAssembly module, compiled once by the page).
 */
import { Rank } from '../../runtime/rank.js';
import type { ClosablePort, RankWorkerStart } from '../../runtime/web-workers/ports.js';
import { WebWorkerTransport } from '../../runtime/web-workers/worker-transport.js';

const scope = self as unknown as ClosablePort & { close(): void };

self.addEventListener(
  'message',
  (start: MessageEvent<RankWorkerStart>) => {
    new Rank(new WebWorkerTransport(scope, start.data.peers), start.data.rank);
  },
  { once: true },
);
