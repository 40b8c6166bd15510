/**
 * One rank: owns its stages' layers, parameters, gradients and optimizer state, and executes exactly the
 * action list the schedule engine generated for it. Activations go forward and gradients back through
 * MessagePorts to the ranks that own the neighbouring stages; a send never waits for the receiver.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import {
  AdamW,
  addTiedGradient,
  buildSegment,
  findTiedParameters,
  gradientSquareSums,
  sumTiedGradients,
  zeroGradients,
  type MicroBatch,
  type ModelSegment,
  type Parameter,
} from '../nn/index.js';
import type { Action } from '../schedule/types.js';
import { configureKernels } from '../tensor/index.js';
import { Mailbox, mailKey } from './mailbox.js';
import type { CoordinatorMessage, MeasuredAction, NamedMoments, NamedTensor, PeerMessage, RankReply, RankSetup } from './protocol.js';
import { describeProgress, progressFields } from './ranks.js';

interface RankData extends RankSetup {
  readonly rank: number;
  readonly ranks: number;
  readonly peers: readonly (MessagePort | undefined)[];
  readonly progress: SharedArrayBuffer;
}

const kindCodes = { F: 1, B: 2, I: 3, W: 4 } as const;

/** Seconds on a clock that all ranks share (each worker has its own performance.timeOrigin). */
function now(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}

class RankRunner {
  private readonly segments = new Map<number, ModelSegment>();
  private readonly parameters: Parameter[];
  private readonly optimizer: AdamW;
  private readonly mailbox = new Mailbox();
  private readonly progress: Int32Array;
  private readonly lastStage: number;
  /** Where this rank's fields start in the shared progress array. */
  private readonly slot: number;
  private faultFired = false;
  private step = 0;

  constructor(private readonly setup: RankData) {
    this.lastStage = setup.placement.length - 1;
    configureKernels(setup.kernels); // before any model state exists, so the backend is chosen once
    for (const { stage, units } of setup.stages) {
      const segment = buildSegment(setup.config, setup.seed, units);
      segment.recompute = setup.recompute;
      this.segments.set(stage, segment);
    }
    this.parameters = [...this.segments.values()].flatMap((segment) => [...segment.parameters]);
    this.optimizer = new AdamW(this.parameters, { weightDecay: setup.weightDecay });
    this.progress = new Int32Array(setup.progress);
    this.slot = setup.rank * progressFields;
    setup.peers.forEach((port) => port?.on('message', (message: PeerMessage) => this.deliver(message)));
  }

  ready(): RankReply {
    const { microbatchSize: B, seqLen: T, recompute } = this.setup;
    const stashBytes = [...this.segments].map(([stage, segment]) => {
      const bytes = segment.stashBytesPerSlot(B, T, recompute);
      return { stage, bytes: bytes.forward + bytes.weight };
    });
    return { type: 'ready', stashBytes };
  }

  async handle(message: CoordinatorMessage): Promise<RankReply> {
    switch (message.type) {
      case 'step':
        return this.trainStep(message.step, message.tokens, message.targets);
      case 'apply':
        this.optimizer.update(message.learningRate, message.clipScale);
        zeroGradients(this.parameters);
        return { type: 'applied' };
      case 'evaluate':
        return this.evaluate(message.microbatches, message.tokens, message.targets);
      case 'collect':
        return this.collect();
      case 'load':
        this.load(message.tensors, message.optimizerStep, message.moments);
        return { type: 'loaded' };
    }
  }

  private async trainStep(step: number, tokens?: readonly Int32Array[], targets?: readonly Int32Array[]): Promise<RankReply> {
    this.step = step;
    const losses: number[] = [];
    const actions: MeasuredAction[] = [];
    let liveMicrobatches = 0;
    let peakActivations = 0;
    let peakActivationBytes = 0;
    for (const action of this.setup.order) {
      const { kind, stage, microbatch } = action;
      this.progress.set([step, stage, -kindCodes[kind], microbatch], this.slot);
      const segment = this.segments.get(stage)!;
      // Waiting for the input is idle time (bubble), not part of the action.
      const input = kind === 'W' ? undefined : await this.receiveInput(action);
      this.progress[this.slot + 2] = kindCodes[kind];
      const start = now();
      await this.injectFault(action);
      let commSeconds = 0;
      if (kind === 'F') {
        const output = segment.forward(microbatch, this.microBatch(stage, microbatch, tokens, targets), (input as Float32Array | null) ?? null);
        if (typeof output === 'number') {
          const loss = this.poisoned(action) ? Number.NaN : output;
          if (!Number.isFinite(loss)) throw new Error(`loss is ${loss}`);
          losses[microbatch] = loss;
        } else {
          if (this.poisoned(action)) output.fill(Number.NaN);
          commSeconds = this.send('activation', stage + 1, microbatch, output);
        }
        liveMicrobatches++;
      } else if (kind === 'W') {
        segment.backwardWeight(microbatch);
      } else {
        const gradient = input as Float32Array | number;
        const gradInput = kind === 'B' ? segment.backward(microbatch, gradient) : segment.backwardInput(microbatch, gradient);
        if (gradInput !== null) commSeconds = this.send('gradient', stage - 1, microbatch, gradInput);
      }
      if (kind === 'B' || kind === 'W') liveMicrobatches--;
      const end = now();
      actions.push({ kind, stage, microbatch, start, end, commSeconds });
      peakActivations = Math.max(peakActivations, liveMicrobatches);
      peakActivationBytes = Math.max(peakActivationBytes, this.liveStashBytes());
      this.progress[this.slot + 2] = 0;
      Atomics.add(this.progress, this.slot + 4, 1);
    }
    await this.sumTiedGradientsAcrossRanks();
    const squareSums = [...this.segments].map(([stage, segment]) => ({ stage, sums: gradientSquareSums(segment.parameters) }));
    const leftover = this.mailbox.pending();
    if (leftover.length > 0) throw new Error(`messages left over after the step: ${leftover.join(', ')}`);
    return { type: 'stepDone', losses, squareSums, actions, peakActivationBytes, peakActivations };
  }

  /** F: the activation from the previous stage (null on stage 0); B and I: the gradient from the next stage, or the loss scale on the last. */
  private receiveInput({ kind, stage, microbatch }: Action): Promise<Float32Array | number | null> {
    if (kind === 'F') return stage === 0 ? Promise.resolve(null) : this.receive(mailKey('activation', stage, microbatch));
    if (stage === this.lastStage) return Promise.resolve(1 / this.setup.microbatches);
    return this.receive(mailKey('gradient', stage, microbatch));
  }

  private deliver(message: PeerMessage): void {
    this.mailbox.deliver(mailKey(message.payload, message.stage, message.microbatch), message.data);
  }

  /** A peer's message: first busy-polled for up to pollMs (the core stays awake), then awaited asleep. */
  private receive(key: string): Promise<Float32Array> {
    const deadline = performance.now() + this.setup.pollMs;
    while (!this.mailbox.has(key) && performance.now() < deadline) {
      for (const port of this.setup.peers) {
        if (port === undefined) continue;
        for (let entry = receiveMessageOnPort(port); entry !== undefined; entry = receiveMessageOnPort(port)) this.deliver(entry.message as PeerMessage);
      }
    }
    return this.mailbox.receive(key);
  }

  private microBatch(stage: number, microbatch: number, tokens?: readonly Int32Array[], targets?: readonly Int32Array[]): MicroBatch {
    const { microbatchSize: B, seqLen: T } = this.setup;
    return {
      B,
      T,
      ...(stage === 0 ? { tokens: tokens![microbatch]! } : {}),
      ...(stage === this.lastStage ? { targets: targets![microbatch]! } : {}),
    };
  }

  /** Hands a copy of `data` to the rank that owns `stage` (a transfer, so the receiver owns it); returns the seconds it took. */
  private send(payload: PeerMessage['payload'], stage: number, microbatch: number, data: Float32Array): number {
    const start = now();
    const copy = data.slice();
    const owner = this.setup.placement[stage]!;
    if (owner === this.setup.rank) this.mailbox.deliver(mailKey(payload, stage, microbatch), copy);
    else this.setup.peers[owner]!.postMessage({ payload, stage, microbatch, data: copy } satisfies PeerMessage, [copy.buffer]);
    return now() - start;
  }

  private liveStashBytes(): number {
    let total = 0;
    for (const segment of this.segments.values()) total += segment.liveStashBytes();
    return total;
  }

  /** Both copies of a tied embedding end the step holding embedding's + head's gradient (Megatron's embedding all-reduce). */
  private async sumTiedGradientsAcrossRanks(): Promise<void> {
    const local = findTiedParameters(this.parameters);
    if (local.length > 0) {
      sumTiedGradients(local);
      return;
    }
    if (!this.setup.config.tied) return;
    const first = this.setup.placement[0]!;
    const last = this.setup.placement[this.lastStage]!;
    const isFirst = this.setup.rank === first;
    if (!isFirst && this.setup.rank !== last) return;
    const copy = this.parameters.find((parameter) => parameter.name === 'wte.weight')!;
    const peer = isFirst ? last : first;
    const outgoing = copy.grad.slice();
    this.setup.peers[peer]!.postMessage({ payload: 'tied-gradient', stage: 0, microbatch: 0, data: outgoing } satisfies PeerMessage, [outgoing.buffer]);
    const remote = await this.receive(mailKey('tied-gradient', 0, 0));
    addTiedGradient(copy.grad, remote);
  }

  /** Forward only, every micro-batch through every owned stage in turn; keeps no stash. */
  private async evaluate(microbatches: number, tokens?: readonly Int32Array[], targets?: readonly Int32Array[]): Promise<RankReply> {
    const losses: number[] = [];
    for (let microbatch = 0; microbatch < microbatches; microbatch++) {
      for (const [stage, segment] of this.segments) {
        const input = stage === 0 ? null : await this.receive(mailKey('activation', stage, microbatch));
        const output = segment.forward(null, this.microBatch(stage, microbatch, tokens, targets), input);
        if (typeof output === 'number') losses.push(output);
        else this.send('activation', stage + 1, microbatch, output);
      }
    }
    return { type: 'evaluated', losses };
  }

  private collect(): RankReply {
    const stages = [...this.segments].map(([stage, segment]) => ({
      stage,
      tensors: segment.parameters.map((parameter): NamedTensor => ({ name: parameter.name, data: parameter.data.slice() })),
    }));
    const state = this.optimizer.exportState();
    const moments: NamedMoments[] = [...state.moments].map(([name, { m, v }]) => ({ name, m: m.slice(), v: v.slice() }));
    return { type: 'collected', stages, optimizerStep: state.step, moments };
  }

  private load(tensors: readonly NamedTensor[], optimizerStep?: number, moments?: readonly NamedMoments[]): void {
    const byName = new Map(tensors.map((tensor) => [tensor.name, tensor.data]));
    for (const parameter of this.parameters) {
      const data = byName.get(parameter.name);
      if (data === undefined || data.length !== parameter.data.length) throw new Error(`checkpoint has no tensor of ${parameter.data.length} values for ${parameter.name}`);
      parameter.data.set(data);
    }
    if (optimizerStep !== undefined && moments !== undefined) {
      this.optimizer.importState({ step: optimizerStep, moments: new Map(moments.map(({ name, m, v }) => [name, { m, v }])) });
    }
  }

  private matchesFault({ kind, microbatch }: Action): boolean {
    const fault = this.setup.fault;
    return (
      fault !== undefined &&
      !this.faultFired &&
      fault.rank === this.setup.rank &&
      fault.step === this.step &&
      fault.action === kind &&
      (fault.microbatch === undefined || fault.microbatch === microbatch)
    );
  }

  private async injectFault(action: Action): Promise<void> {
    if (this.setup.fault?.mode === 'nan' || !this.matchesFault(action)) return;
    this.faultFired = true;
    if (this.setup.fault!.mode === 'exit') process.exit(70);
    if (this.setup.fault!.mode === 'hang') await new Promise(() => {}); // never resolves: the watchdog must notice
    throw new Error('injected fault (CONVEYOR_FAULT)');
  }

  /** mode nan: this forward's result turns into NaN, which the last stage must catch. */
  private poisoned(action: Action): boolean {
    if (this.setup.fault?.mode !== 'nan' || !this.matchesFault(action)) return false;
    this.faultFired = true;
    return true;
  }

  where(): string {
    return describeProgress(this.progress, this.setup.rank);
  }
}

const port = parentPort!;
let runner: RankRunner | undefined;
function fail(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  port.postMessage({ type: 'failed', where: runner?.where() ?? 'start-up', message } satisfies RankReply);
}
try {
  runner = new RankRunner(workerData as RankData);
  port.postMessage(runner.ready());
  // One message at a time, in arrival order: a step must finish before the optimizer applies it.
  let queue = Promise.resolve();
  port.on('message', (message: CoordinatorMessage) => {
    queue = queue.then(async () => port.postMessage(await runner!.handle(message))).catch(fail);
  });
} catch (error) {
  fail(error);
}
