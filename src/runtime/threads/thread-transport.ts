/**
 * The worker-thread transport: every pair of ranks shares a MessagePort and the driver talks to a rank over
 * the worker's parent port. A tensor is transferred, not copied (about 26 µs whatever its size on these
 * machines), and a waiting rank can take arrived messages off its ports without yielding (receiveMessageOnPort).
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { DriverMessage, PeerMessage, RankReply } from '../protocol.js';
import type { Transport, TransportEvents } from '../transport.js';

export class ThreadTransport implements Transport {
  readonly kind = 'threads';
  private events: TransportEvents | undefined;

  constructor(
    private readonly driver: MessagePort,
    /** By global rank; undefined at this rank's own index. */
    private readonly peers: readonly (MessagePort | undefined)[],
  ) {}

  listen(events: TransportEvents): void {
    this.events = events;
    this.driver.on('message', (message: DriverMessage) => events.control(message));
    this.peers.forEach((port, peer) => port?.on('message', (message: PeerMessage) => events.message(peer, message)));
  }

  send(peer: number, message: PeerMessage): void {
    this.peers[peer]!.postMessage(message, [message.data.buffer as ArrayBuffer]);
  }

  reply(message: RankReply): void {
    this.driver.postMessage(message);
  }

  /** Busy-polls every port (the vCPU stays awake; an idle one is handed back to the hypervisor and returns slower). */
  poll(ready: () => boolean, milliseconds: number): void {
    const deadline = performance.now() + milliseconds;
    while (!ready() && performance.now() < deadline) {
      this.peers.forEach((port, peer) => {
        if (port === undefined) return;
        for (let entry = receiveMessageOnPort(port); entry !== undefined; entry = receiveMessageOnPort(port)) this.events!.message(peer, entry.message as PeerMessage);
      });
    }
  }

  drop(peer: number, reason: string): void {
    this.peers[peer]?.close();
    this.events?.lost(peer, reason);
  }

  exit(code: number): void {
    process.exit(code);
  }

  close(): void {
    for (const port of this.peers) port?.close();
    this.driver.close();
  }
}
