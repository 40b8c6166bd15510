/**
 * The Web Worker transport: a rank in a browser's dedicated worker. Every pair of ranks shares a MessagePort
 * and the driver speaks over the worker's own port, as with worker threads; a tensor's buffer is transferred,
 * not copied. A browser cannot take a message off a port without yielding, so there is no poll: a waiting
 * rank sleeps until its message arrives.
 */
import type { DriverMessage, PeerMessage, RankReply } from '../protocol.js';
import type { Transport, TransportEvents } from '../transport.js';
import type { ClosablePort, Port, RankWorkerPost } from './ports.js';

export class WebWorkerTransport implements Transport {
  readonly kind = 'web-workers';

  constructor(
    /** The worker's own scope: messages from and to the driver. */
    private readonly driver: Port & { close(): void },
    /** By global rank; undefined at this rank's own index. */
    private readonly peers: readonly (ClosablePort | undefined)[],
  ) {}

  listen(events: TransportEvents): void {
    this.driver.addEventListener('message', (event) => events.control(event.data as DriverMessage));
    this.peers.forEach((port, peer) => {
      port?.addEventListener('message', (event) => events.message(peer, event.data as PeerMessage));
      port?.start();
    });
  }

  send(peer: number, message: PeerMessage): void {
    this.peers[peer]!.postMessage(message, [message.data.buffer as ArrayBuffer]);
  }

  reply(message: RankReply): void {
    this.post({ reply: message });
  }

  drop(peer: number, _reason: string): void {
    this.peers[peer]?.close();
  }

  exit(code: number): void {
    this.post({ exited: code });
    this.driver.close();
  }

  close(): void {
    for (const port of this.peers) port?.close();
  }

  private post(message: RankWorkerPost): void {
    this.driver.postMessage(message);
  }
}
