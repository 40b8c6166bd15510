/** A worker thread's entry: one rank, its ports to the other ranks and to the driver. */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Rank } from '../rank.js';
import { ThreadTransport } from './thread-transport.js';

interface WorkerData {
  readonly rank: number;
  readonly peers: readonly (MessagePort | undefined)[];
}

const { rank, peers } = workerData as WorkerData;
new Rank(new ThreadTransport(parentPort!, peers), rank);
