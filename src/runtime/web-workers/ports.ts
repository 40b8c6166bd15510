/**
 * What the Web Worker transport needs of the browser's MessagePort and Worker, written out so the runtime's
 * own type library (no DOM) checks it, and what travels on a worker's own port besides the protocol.
 */
import type { RankReply } from '../protocol.js';

/** A MessagePort, or a dedicated worker's global scope, or a Worker seen from the side that started it. */
export interface Port {
  /** `transfer`: buffers and ports that move to the receiver instead of being copied. */
  postMessage(message: unknown, transfer?: readonly object[]): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
}

export interface ClosablePort extends Port {
  start(): void;
  close(): void;
}

/** A Worker as its starter sees it: a port that can also fail and be ended. */
export interface WorkerHandle {
  postMessage(message: unknown, transfer?: readonly object[]): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  addEventListener(type: 'error', listener: (event: { readonly message?: string }) => void): void;
  addEventListener(type: 'messageerror', listener: () => void): void;
  terminate(): void;
}

/** The first message a rank's worker receives: who it is and a port to every other rank (undefined at its own index). */
export interface RankWorkerStart {
  readonly rank: number;
  readonly peers: readonly (ClosablePort | undefined)[];
}

/**
 * A worker's own port carries the protocol's replies, and one notice the browser would not give: that the
 * rank ended itself (a Worker has no exit event), so the driver fails the run at once instead of waiting
 * for the watchdog.
 */
export type RankWorkerPost = { readonly reply: RankReply } | { readonly exited: number };
