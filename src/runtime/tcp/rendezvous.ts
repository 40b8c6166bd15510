/**
 * How the ranks of a job find each other: every rank listens on a port of its own, publishes host:port in
 * the rendezvous store (ours on rank 0, or torchrun's agent store), reads everyone's, connects to every
 * lower rank and accepts every higher one: one connection per pair of ranks, each proven with the job token.
 * A connection from anyone else, or a second one claiming a rank, is refused with a logged line and the job
 * goes on; the listeners stay open for the whole job only to refuse such connections. A job whose master is
 * a loopback address listens on loopback only; any other master needs a job token.
 */
import { hostname } from 'node:os';
import { connect, createServer, type Server } from 'node:net';
import { UsageError } from '../../errors.js';
import type { FrameLimits } from '../frames.js';
import type { LinkLimits } from '../protocol.js';
import type { JobIdentity } from './auth.js';
import { C10dStore } from './c10d-store.js';
import { Connection } from './connection.js';
import { acceptPeer, connectPeer, HandshakeError } from './handshake.js';
import { PeerLink } from './peer-link.js';
import { StoreClient, StoreServer, type RendezvousStore } from './store.js';

/** Where a launched rank stands in its job: torchrun's variables, or SLURM's, read by the CLI. */
export interface LaunchContext {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  readonly localWorldSize: number;
  readonly masterAddr: string;
  readonly masterPort: number;
  /** TORCHELASTIC_USE_AGENT_STORE=True: torchrun's agent already hosts a c10d store on the master port. */
  readonly agentStore: boolean;
  readonly identity: JobIdentity;
  /** No job token: the master must be a loopback address (every listener binds to loopback then). */
  readonly loopbackOnly: boolean;
  /** Which launcher's variables these are ('torchrun', 'slurm', …), for messages. */
  readonly launcher: string;
}

/** Seconds every rank has to appear (torchrun waits 900 s for its own rendezvous; a conveyor job starts at once). */
export const rendezvousSeconds = 120;

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The ranks' links, by global rank (undefined at this rank's own index), and every rank's host name. */
export interface Mesh {
  readonly rank: number;
  readonly size: number;
  readonly links: readonly (PeerLink | undefined)[];
  readonly hosts: readonly string[];
  /** Applies the job's message sizes to every link (until then a link takes control messages only). */
  expect(limits: LinkLimits): void;
  /** Closes every connection, the listener and the store. */
  close(): void;
}

/** JSON of one control message at most (the build message carries a rank's whole action list). */
const controlBytes = 64 << 20;

export function frameLimits(limits: LinkLimits): FrameLimits {
  return { handshake: 0, control: controlBytes, attachment: limits.attachmentBytes, tensor: limits.tensorBytes };
}

/** A connection that proved itself becomes a link: control messages only until the job's sizes are known. */
function proven(connection: Connection, peer: number): PeerLink {
  connection.peer = `rank ${peer} (${connection.remote})`;
  connection.limits = frameLimits({ tensorBytes: 0, attachmentBytes: 0, attachments: 0 });
  return new PeerLink(connection);
}

interface Address {
  readonly host: string;
  readonly port: number;
  readonly hostname: string;
}

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0 }, () => {
      server.unref();
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
}

function connectTo(address: Address): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.host, port: address.port });
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(new Connection(socket, `rank at ${address.host}:${address.port}`));
    });
    socket.once('error', (error) => reject(new Error(`cannot reach ${address.host}:${address.port}: ${error.message}`)));
  });
}

export async function rendezvous(context: LaunchContext, log: (line: string) => void): Promise<Mesh> {
  const { rank, worldSize, identity } = context;
  if (context.loopbackOnly && !isLoopback(context.masterAddr)) {
    throw new UsageError(
      `MASTER_ADDR ${context.masterAddr} is not a loopback address, and without CONVEYOR_JOB_TOKEN ranks listen on loopback only: set CONVEYOR_JOB_TOKEN to one secret shared by every rank`,
    );
  }
  // a job whose master is this host's loopback never listens on another interface, token or not
  const local = isLoopback(context.masterAddr);
  const bindHost = local ? '127.0.0.1' : '0.0.0.0';
  const masterHost = context.masterAddr === 'localhost' ? '127.0.0.1' : context.masterAddr;
  const deadline = Date.now() + rendezvousSeconds * 1000;
  const links: (PeerLink | undefined)[] = new Array(worldSize).fill(undefined);
  const listener = createServer();
  let server: StoreServer | undefined;
  let store: RendezvousStore | undefined;
  const close = () => {
    listener.close();
    server?.close();
    store?.close();
    for (const link of links) link?.connection.close();
  };
  try {
    const port = await listen(listener, bindHost);
    // Higher ranks connect to this one; anyone else, or a rank that is connected already, is refused.
    let accepted!: () => void;
    const allAccepted = new Promise<void>((resolve) => (accepted = resolve));
    let awaiting = worldSize - 1 - rank;
    if (awaiting === 0) accepted();
    listener.on('connection', (socket) => {
      const connection = new Connection(socket, `a peer (${socket.remoteAddress}:${socket.remotePort})`);
      const admit = (peer: number) =>
        peer <= rank || peer >= worldSize ? `rank ${rank} accepts ranks ${rank + 1} to ${worldSize - 1} only` : links[peer] ? `rank ${peer} is connected already` : undefined;
      acceptPeer(connection, identity, rank, admit).then(
        (peer) => {
          links[peer] = proven(connection, peer);
          if (--awaiting === 0) accepted();
        },
        (error: Error) => log(error instanceof HandshakeError ? error.message : `refused a connection: ${error.message}`),
      );
    });
    if (context.agentStore) store = await C10dStore.connect(masterHost, context.masterPort, deadline);
    else {
      if (rank === 0) server = await StoreServer.start(bindHost, context.masterPort, identity, worldSize, log);
      store = await StoreClient.connect(masterHost, context.masterPort, identity, rank, deadline);
    }
    const advertised = local ? '127.0.0.1' : store.localAddress;
    const key = (peer: number) => `/conveyor/${identity.job}/rank/${peer}`;
    store.set(key(rank), JSON.stringify({ host: advertised, port, hostname: hostname() } satisfies Address));
    const timeout = new Promise<never>((_, reject) => {
      const timer = setTimeout(() => reject(new Error(`not every rank of ${worldSize} joined within ${rendezvousSeconds} s (launched by ${context.launcher})`)), deadline - Date.now());
      timer.unref();
    });
    const addresses = await Promise.race([Promise.all(Array.from({ length: worldSize }, (_, peer) => store!.get(key(peer)))), timeout]);
    const parsed = addresses.map((text) => JSON.parse(text) as Address);
    for (let peer = 0; peer < rank; peer++) {
      const connection = await connectTo(parsed[peer]!);
      await connectPeer(connection, identity, rank, peer);
      links[peer] = proven(connection, peer);
    }
    await Promise.race([allAccepted, timeout]);
    const expect = (limits: LinkLimits) => {
      for (const link of links) {
        if (link === undefined) continue;
        link.connection.limits = frameLimits(limits);
        link.connection.maxAttachments = limits.attachments;
      }
    };
    return { rank, size: worldSize, links, hosts: parsed.map((address) => address.hostname), expect, close };
  } catch (error) {
    close();
    throw error;
  }
}
