/** `conveyor lab`: serves the web lab (schedule playground, planner, training in the browser) on a local port. */
import { spawn } from 'node:child_process';
import { Command, InvalidArgumentError } from 'commander';
import { PortInUseError, startLabServer } from '../lab-server.js';
import { UsageError } from '../../errors.js';

export const defaultLabPort = 8080;

/** A TCP port for --port and --lab-port: 0 (any free port) up to 65535. */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535, such as 8080.');
  return port;
}

/** Asks the desktop to open `url`; a machine without one is told where to point a browser instead. */
function openBrowser(url: string): void {
  const [command, ...args] =
    process.platform === 'darwin' ? ['open', url] : process.platform === 'win32' ? ['cmd', '/c', 'start', '', url] : ['xdg-open', url];
  const opener = spawn(command!, args, { detached: true, stdio: 'ignore' });
  opener.on('error', () => process.stderr.write(`conveyor: could not start ${command} to open a browser; open ${url} yourself\n`));
  opener.unref();
}

/** Resolves when the process is asked to stop (Ctrl-C or a termination signal). */
const stopRequested = (): Promise<void> =>
  new Promise((stop) => {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

async function runLab(options: { readonly port: number; readonly open: boolean }): Promise<void> {
  let server;
  try {
    server = await startLabServer({ port: options.port });
  } catch (error) {
    if (error instanceof PortInUseError) throw new UsageError(`--port ${options.port} is already in use; choose another port, e.g. --port ${options.port + 1}`);
    throw error;
  }
  process.stdout.write(`Conveyor lab at ${server.url} (Ctrl-C stops it)\n`);
  if (options.open) openBrowser(server.url);
  await stopRequested();
  await server.close();
}

export function registerLabCommand(program: Command): void {
  program
    .command('lab')
    .description('Serve the web lab on this machine: schedules drawn and played, the planner, and a GPT trained in the browser.')
    .option('--port <port>', 'port on 127.0.0.1 (0: any free port)', parsePort, defaultLabPort)
    .option('--open', 'open the page in the default browser', false)
    .action((options: { port: number; open: boolean }) => runLab(options));
}
