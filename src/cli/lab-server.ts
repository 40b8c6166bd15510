/**
 * The lab's local server: the built page from dist/web with the cross-origin isolation headers, and
 * `/api/events`, a server-sent stream of a terminal run's events (replayed from the start to a page that
 * opens late). Another process publishes into it with a POST of JSON, so `conveyor train --lab` can feed a
 * `conveyor lab` that is already open. Loopback only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { isolationHeaders } from '../web/isolation-headers.js';
import { labEventTypes, type LabEvent } from '../web/watch/events.js';

/** The built page: dist/src/cli/ -> dist/web/. */
export const webRoot = fileURLToPath(new URL('../../web/', import.meta.url));

/** What GET /api/lab answers, so a publisher knows the port holds a lab and not something else. */
export const labSignature = { conveyor: 'lab', events: '/api/events' } as const;

/** Largest event a publisher may POST: a measured timeline of a long schedule is a few megabytes. */
const MAX_EVENT_BYTES = 16 << 20;
/** A comment line this often keeps idle connections (and proxies) from timing out, ms. */
const HEARTBEAT_MS = 15_000;

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

export interface LabServer {
  readonly url: string;
  readonly port: number;
  /** Sends the event to every open page and keeps it for pages that open later. */
  publish(event: LabEvent): void;
  close(): Promise<void>;
}

/**
 * What a page that opens mid-run is sent first: the run's opening, every step's figures, and the timelines of
 * the latest step only (older ones are superseded, and a long run would otherwise hold them all).
 */
class History {
  private readonly events: LabEvent[] = [];

  add(event: LabEvent): void {
    if (event.type === 'run') this.events.length = 0;
    if (event.type === 'step') {
      const previous = this.events[this.events.length - 1];
      if (previous?.type === 'step') {
        const { timeline: _measured, predicted: _predicted, ...figures } = previous.data;
        this.events[this.events.length - 1] = { type: 'step', data: figures };
      }
    }
    this.events.push(event);
  }

  all(): readonly LabEvent[] {
    return this.events;
  }
}

const frame = (event: LabEvent): string => `event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_EVENT_BYTES) {
        fail(new Error(`event larger than ${MAX_EVENT_BYTES} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
    request.on('error', fail);
  });
}

/** The event in a POST body, or undefined when it is not one. */
function parseEvent(body: string): LabEvent | undefined {
  try {
    const value = JSON.parse(body) as { type?: unknown; data?: unknown };
    if (typeof value !== 'object' || value === null || !labEventTypes.includes(value.type as LabEvent['type'])) return undefined;
    if (typeof value.data !== 'object' || value.data === null) return undefined;
    return value as LabEvent;
  } catch {
    return undefined;
  }
}

export async function startLabServer(options: { readonly port: number; readonly root?: string; readonly host?: string }): Promise<LabServer> {
  const root = resolve(options.root ?? webRoot);
  if (!existsSync(join(root, 'index.html'))) {
    throw new UsageError(`the lab page is not built (no ${join(root, 'index.html')}): run npm run build:web`);
  }
  const host = options.host ?? '127.0.0.1';
  const history = new History();
  const pages = new Set<ServerResponse>();

  const send = (response: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}) => {
    response.writeHead(status, { ...isolationHeaders, 'Content-Type': type, 'Cache-Control': 'no-cache', ...extra });
    response.end(body);
  };

  const publish = (event: LabEvent) => {
    history.add(event);
    const text = frame(event);
    for (const page of pages) page.write(text);
  };

  const openStream = (request: IncomingMessage, response: ServerResponse) => {
    response.writeHead(200, { ...isolationHeaders, 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    response.write(': conveyor lab\n\n');
    for (const event of history.all()) response.write(frame(event));
    pages.add(response);
    request.on('close', () => pages.delete(response));
  };

  const acceptEvent = async (request: IncomingMessage, response: ServerResponse) => {
    // JSON only: a browser cannot POST application/json to another origin without a preflight, which this server never grants.
    if (request.headers['content-type']?.split(';')[0]?.trim() !== 'application/json') {
      send(response, 415, 'text/plain; charset=utf-8', 'send the event as application/json\n');
      return;
    }
    let event: LabEvent | undefined;
    try {
      event = parseEvent(await readBody(request));
    } catch (error) {
      send(response, 413, 'text/plain; charset=utf-8', `${(error as Error).message}\n`);
      return;
    }
    if (event === undefined) {
      send(response, 400, 'text/plain; charset=utf-8', `expected {"type": ${labEventTypes.map((type) => `"${type}"`).join(' | ')}, "data": {...}}\n`);
      return;
    }
    publish(event);
    send(response, 204, 'text/plain', '');
  };

  const serveFile = async (pathname: string, response: ServerResponse) => {
    try {
      const file = resolve(root, `.${decodeURIComponent(pathname === '/' ? '/index.html' : pathname)}`);
      if (!file.startsWith(root + sep)) throw new Error('outside the page');
      send(response, 200, contentTypes[extname(file)] ?? 'application/octet-stream', await readFile(file));
    } catch {
      // A bad escape, a path outside the page, or no such file.
      send(response, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  };

  const server: Server = createServer((request, response) => {
    const { pathname } = new URL(request.url ?? '/', 'http://lab');
    if (pathname === '/api/events' && request.method === 'GET') return openStream(request, response);
    if (pathname === '/api/events' && request.method === 'POST') return void acceptEvent(request, response);
    if (pathname === '/api/lab') return send(response, 200, 'application/json', JSON.stringify(labSignature));
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, 'text/plain; charset=utf-8', 'GET only\n');
    void serveFile(pathname, response);
  });
  const heartbeat = setInterval(() => {
    for (const page of pages) page.write(': still here\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();

  await new Promise<void>((listening, fail) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      fail(error.code === 'EADDRINUSE' ? new PortInUseError(options.port) : error);
    });
    server.listen(options.port, host, () => listening());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    url: `http://${host}:${port}/`,
    port,
    publish,
    close: () =>
      new Promise<void>((closed) => {
        clearInterval(heartbeat);
        for (const page of pages) page.end();
        pages.clear();
        server.close(() => closed());
        server.closeAllConnections();
      }),
  };
}

/** The port is taken; whoever asked says what to do about it. */
export class PortInUseError extends UsageError {
  constructor(readonly port: number) {
    super(`port ${port} is already in use`);
  }
}
