/**
 * The driver and rank 0 share global rank 0's process: their messages go through this pair of in-process
 * queues, delivered on a later microtask so each side sees the other's messages in order, never re-entrantly.
 */
import type { DriverMessage, RankReply } from '../protocol.js';

export class LocalLink {
  toRank: ((message: DriverMessage) => void) | undefined;
  toDriver: ((message: RankReply) => void) | undefined;

  sendToRank(message: DriverMessage): void {
    queueMicrotask(() => this.toRank?.(message));
  }

  sendToDriver(message: RankReply): void {
    queueMicrotask(() => this.toDriver?.(message));
  }
}
