/** What the train tab asks the driver worker for, and what the driver worker answers: run events or a refusal. */
import type { LabEvent } from '../watch/events.js';

/** The `conveyor train` flags the browser run takes, as the page's fields hold them. */
export interface BrowserTrainRequest {
  readonly schedule: string;
  readonly stages: number;
  readonly microbatches: number;
  readonly layers: number;
  readonly embd: number;
  readonly heads: number;
  readonly seqLen: number;
  readonly batchSize: number;
  readonly steps: number;
  readonly lr: number;
  readonly seed: number;
  /** The WebAssembly kernels' module (a WebAssembly.Module), compiled once by the page and handed to every rank. */
  readonly kernels: unknown;
}

/** Small enough to train in seconds on two cores, large enough that the loss visibly falls. */
export const browserDefaults: Omit<BrowserTrainRequest, 'kernels'> = {
  schedule: '1f1b',
  stages: 2,
  microbatches: 4,
  layers: 2,
  embd: 64,
  heads: 4,
  seqLen: 32,
  batchSize: 8,
  steps: 40,
  lr: 3e-3,
  seed: 1337,
};

export type DriverPost = { readonly event: LabEvent } | { readonly refused: string };
