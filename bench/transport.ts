/**
 * Threads against processes. (1) The cost of one message on each transport: a ping-pong of tensors between
 * this process and a worker thread (MessagePorts, buffers transferred) or a child process (TCP frames on
 * loopback), per message one way, for the sizes a pipeline sends (the reference model's activation is
 * [4, 128, 256] float32 = 512 KiB). (2) Two-rank 1F1B on the reference model through the CLI, as worker
 * threads (`conveyor train`) and as two processes over TCP (`conveyor launch --nproc-per-node 2`), in paired
 * rounds so the host's drift hits both alike; the goal is processes within 3% of threads.
 * Run: npm run build && node dist/bench/transport.js [rounds] [steps]
 */
import { spawn, spawnSync } from 'node:child_process';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { MessageChannel, Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { frameArray, tensorHeader } from '../src/runtime/frames.js';
import { Connection } from '../src/runtime/tcp/connection.js';
import { median } from './pipeline.js';

const sizes = [1 << 10, 64 << 10, 512 << 10, 4 << 20]; // bytes per message
const limits = { handshake: 0, control: 0, attachment: 0, tensor: 8 << 20 };
const bin = fileURLToPath(new URL('../../bin/conveyor.js', import.meta.url));
const self = fileURLToPath(import.meta.url);

/** The reference model, two ranks, 1F1B (bench/reference-model.ts's shape; batch 32 = 8 micro-batches of 4). */
function referenceTrain(steps: number): string[] {
  return ['train', '--layers', '4', '--embd', '256', '--heads', '4', '--seq-len', '128', '--batch-size', '32', '--microbatches', '8', '--steps', String(steps), '--stages', '2', '--schedule', '1f1b', '--json'];
}

function tcpEcho(socket: Socket): void {
  const connection = new Connection(socket, 'the bench', limits);
  connection.listen({ tensor: (frame) => connection.sendTensor(frame.header, frameArray(frame) as Float32Array), closed: () => process.exit(0) });
}

/** A worker that sends every message straight back, transferring its buffer as a rank does. */
const threadEcho = `
const { workerData } = require('node:worker_threads');
workerData.port.on('message', (message) => workerData.port.postMessage(message, [message.data.buffer]));
`;

if (process.argv[2] === '--echo') {
  const socket = connect(Number(process.argv[3]), '127.0.0.1');
  socket.once('connect', () => tcpEcho(socket));
}

/** Seconds per message one way: half a round trip, over `count` round trips after a warm-up. */
async function threadCost(bytes: number, count: number): Promise<number> {
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(threadEcho, { eval: true, workerData: { port: port2 }, transferList: [port2] });
  let data: Float32Array = new Float32Array(bytes / 4);
  const roundTrip = () =>
    new Promise<void>((resolve) => {
      port1.once('message', (message: { data: Float32Array }) => {
        data = message.data;
        resolve();
      });
      port1.postMessage({ payload: 'activation', stage: 1, microbatch: 0, shape: [data.length], data }, [data.buffer as ArrayBuffer]);
    });
  for (let i = 0; i < 20; i++) await roundTrip();
  const began = performance.now();
  for (let i = 0; i < count; i++) await roundTrip();
  const seconds = (performance.now() - began) / 1000 / count / 2;
  port1.close();
  await worker.terminate();
  return seconds;
}

async function tcpCost(bytes: number, count: number): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const child = spawn(process.execPath, [self, '--echo', String((server.address() as AddressInfo).port)], { stdio: 'inherit' });
  const socket = await new Promise<Socket>((resolve) => server.once('connection', resolve));
  const connection = new Connection(socket, 'the echo', limits);
  let resolveFrame: () => void = () => {};
  connection.listen({ tensor: () => resolveFrame() });
  const data = new Float32Array(bytes / 4);
  const header = tensorHeader('tensor', data, { payload: 'activation', stage: 1, microbatch: 0 });
  const roundTrip = () =>
    new Promise<void>((resolve) => {
      resolveFrame = resolve;
      connection.sendTensor(header, data);
    });
  for (let i = 0; i < 20; i++) await roundTrip();
  const began = performance.now();
  for (let i = 0; i < count; i++) await roundTrip();
  const seconds = (performance.now() - began) / 1000 / count / 2;
  connection.close();
  server.close();
  await new Promise((resolve) => child.once('exit', resolve));
  return seconds;
}

function train(args: readonly string[]): { tokensPerS: number; stepTimeS: number } {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`);
  const report = JSON.parse(result.stdout) as { tokensPerS: number; stepTimeS: number };
  return { tokensPerS: report.tokensPerS, stepTimeS: report.stepTimeS };
}

export async function main(rounds = 5, steps = 8): Promise<void> {
  console.log('per message, one way (half a ping-pong round trip), microseconds');
  console.log('bytes        threads      tcp   tcp/threads');
  for (const bytes of sizes) {
    const count = bytes >= 1 << 20 ? 100 : 400;
    const threads = await threadCost(bytes, count);
    const tcp = await tcpCost(bytes, count);
    console.log(`${String(bytes).padStart(8)}  ${(threads * 1e6).toFixed(1).padStart(9)}  ${(tcp * 1e6).toFixed(1).padStart(7)}  ${(tcp / threads).toFixed(2).padStart(12)}`);
  }
  console.log(`\nreference model, 2 ranks, 1f1b, batch 32 = 8 micro-batches of 4; means over steps 2..${steps} of each run`);
  console.log('round  threads tokens/s  tcp tokens/s  tcp/threads');
  const ratios: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    // alternate which goes first, so a drifting host favours neither
    const first = round % 2 === 1 ? 'threads' : 'tcp';
    const runThreads = () => train(referenceTrain(steps));
    const runTcp = () => train(['launch', '--nproc-per-node', '2', '--master-port', String(29700 + round), '--', ...referenceTrain(steps)]);
    const [threads, tcp] = first === 'threads' ? [runThreads(), runTcp()] : ((results) => [results[1]!, results[0]!] as const)([runTcp(), runThreads()]);
    ratios.push(tcp.tokensPerS / threads.tokensPerS);
    console.log(`${String(round).padStart(5)}  ${threads.tokensPerS.toFixed(0).padStart(16)}  ${tcp.tokensPerS.toFixed(0).padStart(12)}  ${(tcp.tokensPerS / threads.tokensPerS).toFixed(3).padStart(11)}`);
  }
  console.log(`median tcp/threads over ${rounds} rounds: ${median(ratios).toFixed(3)} (goal: at least 0.970)`);
}

if (process.argv[2] !== '--echo' && import.meta.url === pathToFileURL(process.argv[1]!).href) {
  await main(Number(process.argv[2] ?? 5), Number(process.argv[3] ?? 8));
}
