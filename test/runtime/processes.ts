/** Starting conveyor processes for the multi-process tests: a launcher, or ranks with a launcher's variables set by hand. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const bin = new URL('../../../bin/conveyor.js', import.meta.url).pathname;

/** A few kilobytes of text: the built-in task would spend most of each short run building and scoring itself. */
const text = join(mkdtempSync(join(tmpdir(), 'conveyor-processes-')), 'words.txt');
writeFileSync(text, Array.from({ length: 3000 }, (_, i) => ['pipe', 'stage', 'rank', 'micro', 'batch', 'flush', 'bubble', 'token'][(i * 7 + (i >> 3)) % 8]).join(' '));

export const tiny = ['--layers', '2', '--embd', '16', '--heads', '2', '--seq-len', '16', '--batch-size', '8', '--microbatches', '4', '--data', text];

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Seconds from start to exit. */
  readonly seconds: number;
}

export interface Running {
  readonly child: ChildProcess;
  readonly finished: Promise<Finished>;
  /** Resolves once stdout has shown `text`. */
  printed(text: string): Promise<void>;
}

/** A free loopback port (free when asked; the tests start their store on it at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function start(command: readonly string[], env: Record<string, string | undefined> = {}, executable = process.execPath): Running {
  const began = Date.now();
  const child = spawn(executable, executable === process.execPath ? [bin, ...command] : [...command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const watchers: { text: string; resolve: () => void }[] = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk;
    for (const watcher of watchers.filter((w) => stdout.includes(w.text))) watcher.resolve();
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  const finished = new Promise<Finished>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, seconds: (Date.now() - began) / 1000 })),
  );
  return {
    child,
    finished,
    printed: (text) => (stdout.includes(text) ? Promise.resolve() : new Promise((resolve) => watchers.push({ text, resolve }))),
  };
}

/** `conveyor train` as global rank `rank` of `worldSize`, with torchrun's variables. */
export function startRank(rank: number, worldSize: number, port: number, args: readonly string[], env: Record<string, string> = {}): Running {
  return start(['train', ...args], {
    RANK: String(rank),
    WORLD_SIZE: String(worldSize),
    LOCAL_RANK: String(rank),
    LOCAL_WORLD_SIZE: String(worldSize),
    MASTER_ADDR: '127.0.0.1',
    MASTER_PORT: String(port),
    ...env,
  });
}

/** Lines of stderr without launchers' own notices. */
export function errorLines(finished: Finished): string[] {
  return finished.stderr.split('\n').filter((line) => line.startsWith('conveyor'));
}
