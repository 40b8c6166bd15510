/**
 * The rendezvous store global rank 0 hosts on MASTER_ADDR:MASTER_PORT: a small key-value table through
 * which ranks publish their addresses. Every client proves the job token first (handshake.ts); `get` waits
 * until the key is set. Keys and values are short strings, and a client may set only a few, so a client
 * cannot grow the store's memory without bound.
 */
import { createServer, connect, type Server } from 'node:net';
import { z } from 'zod';
import { UsageError } from '../../errors.js';
import { decodeJson } from '../wire.js';
import type { JobIdentity } from './auth.js';
import { Connection } from './connection.js';
import { acceptPeer, connectPeer } from './handshake.js';

/** What rendezvous needs of a store: ours, or the agent store torchrun hosts (c10d-store.ts). */
export interface RendezvousStore {
  set(key: string, value: string): void;
  /** Resolves when `key` is set (rejects if the store goes away). */
  get(key: string): Promise<string>;
  /** This host's address as the store sees it: the address other hosts can reach this one at. */
  readonly localAddress: string;
  close(): void;
}

const storeLimits = { handshake: 4096, control: 4096, attachment: 0, tensor: 0 };
const request = z.discriminatedUnion('op', [
  z.object({ op: z.literal('set'), key: z.string().max(256), value: z.string().max(2048) }),
  z.object({ op: z.literal('get'), key: z.string().max(256) }),
]);
const answer = z.object({ op: z.literal('value'), key: z.string(), value: z.string() });

/** Keys one client may set: its own address and a few more. */
const keysPerClient = 4;

export class StoreServer {
  private readonly values = new Map<string, string>();
  private readonly waiting = new Map<string, Connection[]>();
  private readonly connections = new Set<Connection>();

  private constructor(private readonly server: Server) {}

  /** Listens on host:port; a port already taken is the user's to change. */
  static start(host: string, port: number, identity: JobIdentity, worldSize: number, log: (line: string) => void): Promise<StoreServer> {
    const server = createServer();
    const store = new StoreServer(server);
    server.on('connection', (socket) => store.admit(new Connection(socket, `a store client (${socket.remoteAddress}:${socket.remotePort})`, storeLimits), identity, worldSize, log));
    return new Promise((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'EADDRINUSE' ? new UsageError(`MASTER_PORT ${port} is already taken on ${host}: give another --master-port (or MASTER_PORT)`) : error),
      );
      server.listen({ host, port }, () => {
        server.unref();
        resolve(store);
      });
    });
  }

  private admit(connection: Connection, identity: JobIdentity, worldSize: number, log: (line: string) => void): void {
    this.connections.add(connection);
    let keysSet = 0;
    acceptPeer(connection, identity, -1, (rank) => (rank >= 0 && rank < worldSize ? undefined : `no rank ${rank} in a job of ${worldSize}`)).then(
      () => {
        connection.listen({
          control: (json) => {
            const parsed = request.safeParse(decodeJson(json, []));
            if (!parsed.success) return connection.drop('it sent what the store does not take');
            const message = parsed.data;
            if (message.op === 'set') {
              if (++keysSet > keysPerClient) return connection.drop(`it set more than ${keysPerClient} keys`);
              this.values.set(message.key, message.value);
              for (const waiter of this.waiting.get(message.key) ?? []) waiter.sendMessage({ op: 'value', key: message.key, value: message.value });
              this.waiting.delete(message.key);
            } else {
              const value = this.values.get(message.key);
              if (value !== undefined) connection.sendMessage({ op: 'value', key: message.key, value });
              else if ((this.waiting.get(message.key)?.length ?? 0) < worldSize) this.waiting.set(message.key, [...(this.waiting.get(message.key) ?? []), connection]);
              else connection.drop('too many waiting reads');
            }
          },
          closed: () => this.connections.delete(connection),
        });
      },
      (error: Error) => {
        this.connections.delete(connection);
        log(`the rendezvous store ${error.message}`);
      },
    );
  }

  close(): void {
    this.server.close();
    for (const connection of this.connections) connection.close();
  }
}

/** Connects to host:port, retrying while nothing listens there yet (rank 0 may start later), until `deadline` (ms). */
export function connectWithRetry(host: string, port: number, deadline: number, what: string): Promise<import('node:net').Socket> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        socket.destroy();
        if (Date.now() < deadline && (error.code === 'ECONNREFUSED' || error.code === 'ENOTFOUND' || error.code === 'EHOSTUNREACH' || error.code === 'ETIMEDOUT')) setTimeout(attempt, 100);
        else reject(new Error(`cannot reach ${what} at ${host}:${port}: ${error.message}`));
      });
    };
    attempt();
  });
}

export class StoreClient implements RendezvousStore {
  private readonly pending = new Map<string, ((value: string) => void)[]>();
  private failure: Error | undefined;
  private readonly failed: ((error: Error) => void)[] = [];

  private constructor(private readonly connection: Connection) {
    connection.listen({
      control: (json) => {
        const parsed = answer.safeParse(decodeJson(json, []));
        if (!parsed.success) return connection.drop('the store answered what no store answers');
        for (const resolve of this.pending.get(parsed.data.key) ?? []) resolve(parsed.data.value);
        this.pending.delete(parsed.data.key);
      },
      closed: (reason) => {
        this.failure = new Error(`the rendezvous store at ${connection.remote} went away: ${reason}`);
        for (const reject of this.failed.splice(0)) reject(this.failure);
      },
    });
  }

  static async connect(host: string, port: number, identity: JobIdentity, rank: number, deadline: number): Promise<StoreClient> {
    const socket = await connectWithRetry(host, port, deadline, 'the rendezvous store (MASTER_ADDR:MASTER_PORT)');
    const connection = new Connection(socket, 'the rendezvous store', storeLimits);
    await connectPeer(connection, identity, rank, -1);
    return new StoreClient(connection);
  }

  get localAddress(): string {
    return this.connection.socket.localAddress!.replace(/^::ffff:/, '');
  }

  set(key: string, value: string): void {
    this.connection.sendMessage({ op: 'set', key, value });
  }

  get(key: string): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(key, [...(this.pending.get(key) ?? []), resolve]);
      this.failed.push(reject);
      this.connection.sendMessage({ op: 'get', key });
    });
  }

  close(): void {
    this.connection.close();
  }
}
