/**
 * A client of PyTorch's TCPStore (c10d), the store torchrun's agent hosts on MASTER_ADDR:MASTER_PORT when it
 * sets TORCHELASTIC_USE_AGENT_STORE=True: ranks of a torchrun job meet there instead of in a store of our
 * own. The wire format is c10d's: a one-byte query type, strings and byte vectors as a little-endian
 * uint64 length and the bytes; VALIDATE sends the client magic, WAIT answers one byte when every key is set,
 * GET answers a length-prefixed value. This store proves nothing about who connects, so what ranks read
 * from it is checked again by the job-token handshake on every rank-to-rank connection.
 */
import type { Socket } from 'node:net';
import type { RendezvousStore } from './store.js';
import { connectWithRetry } from './store.js';

const query = { validate: 0, set: 1, get: 3, wait: 6 } as const;
const validationMagic = 0x3c85f7ce;
const stopWaiting = 0;

function lengthPrefixed(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(bytes.length));
  return Buffer.concat([length, bytes]);
}

export class C10dStore implements RendezvousStore {
  private buffered = Buffer.alloc(0);
  /** Readers of the answer stream, in the order the queries went out (c10d answers in order). */
  private readonly readers: { readonly parse: (bytes: Buffer) => number; readonly reject: (error: Error) => void }[] = [];
  private failure: Error | undefined;
  /** c10d answers a WAIT only when its keys are set and goes on with later queries meanwhile: one get at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      for (;;) {
        const reader = this.readers[0];
        if (reader === undefined) break;
        const used = reader.parse(this.buffered);
        if (used === 0) break;
        this.buffered = this.buffered.subarray(used);
        this.readers.shift();
      }
    });
    const fail = (reason: string) => {
      this.failure ??= new Error(`the agent store at ${socket.remoteAddress}:${socket.remotePort} went away: ${reason}`);
      for (const reader of this.readers.splice(0)) reader.reject(this.failure);
    };
    socket.on('error', (error) => fail(error.message));
    socket.on('close', () => fail('the connection closed'));
  }

  static async connect(host: string, port: number, deadline: number): Promise<C10dStore> {
    const socket = await connectWithRetry(host, port, deadline, "torchrun's agent store (MASTER_ADDR:MASTER_PORT)");
    const header = Buffer.alloc(5);
    header.writeUInt8(query.validate, 0);
    header.writeUInt32LE(validationMagic, 1);
    socket.write(header);
    return new C10dStore(socket);
  }

  get localAddress(): string {
    return this.socket.localAddress!.replace(/^::ffff:/, '');
  }

  set(key: string, value: string): void {
    this.socket.write(Buffer.concat([Buffer.from([query.set]), lengthPrefixed(key), lengthPrefixed(value)]));
  }

  private answer<T>(parse: (bytes: Buffer) => { used: number; value?: T }): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.readers.push({
        parse: (bytes) => {
          const { used, value } = parse(bytes);
          if (used > 0) resolve(value as T);
          return used;
        },
        reject,
      });
    });
  }

  get(key: string): Promise<string> {
    const result = this.queue.then(() => this.waitAndGet(key));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async waitAndGet(key: string): Promise<string> {
    const count = Buffer.alloc(8);
    count.writeBigUInt64LE(1n);
    this.socket.write(Buffer.concat([Buffer.from([query.wait]), count, lengthPrefixed(key)]));
    const waited = await this.answer<number>((bytes) => (bytes.length >= 1 ? { used: 1, value: bytes[0]! } : { used: 0 }));
    if (waited !== stopWaiting) throw new Error(`the agent store answered WAIT for ${key} with ${waited}`);
    this.socket.write(Buffer.concat([Buffer.from([query.get]), lengthPrefixed(key)]));
    return this.answer<string>((bytes) => {
      if (bytes.length < 8) return { used: 0 };
      const length = Number(bytes.readBigUInt64LE(0));
      return bytes.length < 8 + length ? { used: 0 } : { used: 8 + length, value: bytes.subarray(8, 8 + length).toString('utf8') };
    });
  }

  close(): void {
    this.socket.end();
  }
}
