/**
 * One rank: owns its stages' layers, parameters, gradients and optimizer state, and executes exactly the
 * action list the schedule engine generated for it. It talks to its peers and to the driver only through
 * a Transport, and imports no `node:` module, so the same loop runs in a worker thread, in a process of its
 * own on any host, or in a browser's Web Worker.
 */
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
import { configureKernels, kernelsName } from '../tensor/index.js';
import { Mailbox, mailKey } from './mailbox.js';
import { profileUnitKinds } from './profile.js';
import {
  describeProgress,
  linkLimits,
  startUp,
  type DriverMessage,
  type MeasuredAction,
  type NamedMoments,
  type NamedTensor,
  type PeerMessage,
  type Progress,
  type RankReply,
  type RankSetup,
} from './protocol.js';
import type { Transport } from './transport.js';

/** Seconds since the epoch on this rank's clock (the driver aligns the ranks' clocks at start). */
export function now(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}

/** How often a rank repeats where it stands, so the driver can tell a silent rank from a busy one. */
const heartbeatMs = 1000;

/** A rank's model share, built from the 'build' message. */
interface Built {
  readonly setup: RankSetup;
  readonly segments: Map<number, ModelSegment>;
  readonly parameters: Parameter[];
  readonly optimizer: AdamW;
  readonly lastStage: number;
  /** Every message this rank may be sent, by mail key, with the shape it must have. */
  readonly expected: ReadonlyMap<string, readonly number[]>;
}

/** Mail keys and shapes of what a rank receives in a step and in an evaluation, from its action list. */
function expectedMessages(setup: RankSetup, rank: number): Map<string, readonly number[]> {
  const { microbatchSize: B, seqLen: T, config } = setup;
  const lastStage = setup.placement.length - 1;
  const activation = [B, T, config.embd];
  const expected = new Map<string, readonly number[]>();
  for (const { kind, stage, microbatch } of setup.order) {
    if (kind === 'F' && stage > 0) expected.set(mailKey('activation', stage, microbatch), activation);
    if ((kind === 'B' || kind === 'I') && stage < lastStage) expected.set(mailKey('gradient', stage, microbatch), activation);
  }
  for (const { stage } of setup.stages) {
    for (let microbatch = 0; stage > 0 && microbatch < setup.evaluationMicrobatches; microbatch++) expected.set(mailKey('activation', stage, microbatch), activation);
  }
  const ends = [setup.placement[0]!, setup.placement[lastStage]!];
  if (config.tied && ends[0] !== ends[1] && ends.includes(rank)) expected.set(mailKey('tied-gradient', 0, 0), [config.vocabSize, config.embd]);
  return expected;
}

export class Rank {
  private built: Built | undefined;
  private readonly mailbox = new Mailbox();
  private progress: Progress = startUp;
  private faultFired = false;
  private step = 0;
  private closed = false;
  /** One command at a time, in arrival order: a step must finish before the optimizer applies it. */
  private queue: Promise<void> = Promise.resolve();
  private readonly heartbeat: ReturnType<typeof setInterval>;

  constructor(
    private readonly transport: Transport,
    /** This rank's index in the job. */
    readonly rank: number,
  ) {
    transport.listen({
      control: (message) => this.command(message),
      message: (peer, message) => this.deliver(peer, message),
      lost: (peer, reason) => this.lose(peer, reason),
    });
    this.heartbeat = setInterval(() => this.report(), heartbeatMs);
  }

  private command(message: DriverMessage): void {
    // answered at once, not behind queued work, so the round trip measures the link and not the queue
    if (message.type === 'ping') {
      const receivedAt = now();
      this.transport.reply({ type: 'pong', sentAt: message.sentAt, receivedAt, repliedAt: now() });
      return;
    }
    // not behind queued work either: a step that waits for a rank that died never ends
    if (message.type === 'stop') {
      this.close();
      return;
    }
    this.queue = this.queue.then(async () => {
      if (this.closed) return;
      const reply = await this.handle(message);
      if (!this.closed) this.transport.reply(reply);
    }).catch((error: unknown) => this.fail(error));
  }

  private async handle(message: Exclude<DriverMessage, { type: 'ping' | 'stop' }>): Promise<RankReply> {
    switch (message.type) {
      case 'kernels': {
        const settings = configureKernels(message.request);
        return { type: 'kernelsChosen', kernels: kernelsName(settings), threads: settings.threads };
      }
      case 'profile': {
        const costs = profileUnitKinds(message.config, message.microbatchSize, message.seqLen);
        return { type: 'profiled', ...costs };
      }
      case 'build':
        return this.build(message.setup);
      case 'step':
        return this.trainStep(message.step, message.tokens, message.targets);
      case 'apply': {
        const built = this.share();
        built.optimizer.update(message.learningRate, message.clipScale);
        zeroGradients(built.parameters);
        return { type: 'applied' };
      }
      case 'evaluate':
        return this.evaluate(message.microbatches, message.tokens, message.targets);
      case 'collect':
        return this.collect();
      case 'load':
        this.load(message.tensors, message.optimizerStep, message.moments);
        return { type: 'loaded' };
    }
  }

  private build(setup: RankSetup): RankReply {
    const segments = new Map<number, ModelSegment>();
    for (const { stage, units } of setup.stages) {
      const segment = buildSegment(setup.config, setup.seed, units);
      segment.recompute = setup.recompute;
      segments.set(stage, segment);
    }
    const parameters = [...segments.values()].flatMap((segment) => [...segment.parameters]);
    this.built = {
      setup,
      segments,
      parameters,
      optimizer: new AdamW(parameters, { weightDecay: setup.weightDecay }),
      lastStage: setup.placement.length - 1,
      expected: expectedMessages(setup, this.rank),
    };
    this.transport.expect?.(linkLimits(setup));
    const { microbatchSize: B, seqLen: T, recompute } = setup;
    const stashBytes = [...segments].map(([stage, segment]) => {
      const bytes = segment.stashBytesPerSlot(B, T, recompute);
      return { stage, bytes: bytes.forward + bytes.weight };
    });
    return { type: 'ready', stashBytes };
  }

  private share(): Built {
    if (this.built === undefined) throw new Error('the driver sent work before the rank was built');
    return this.built;
  }

  /** Tells the driver where this rank stands (also the heartbeat). */
  private report(progress: Progress = this.progress): void {
    this.progress = progress;
    if (!this.closed) this.transport.reply({ type: 'progress', progress });
  }

  private async trainStep(step: number, tokens?: readonly Int32Array[], targets?: readonly Int32Array[]): Promise<RankReply> {
    const built = this.share();
    this.step = step;
    const losses: number[] = [];
    const actions: MeasuredAction[] = [];
    let liveMicrobatches = 0;
    let peakActivations = 0;
    let peakActivationBytes = 0;
    for (const action of built.setup.order) {
      const { kind, stage, microbatch } = action;
      const segment = built.segments.get(stage)!;
      const place = { phase: 'step', step, action: { kind, stage, microbatch } } as const;
      // Waiting for the input is idle time (bubble), not part of the action.
      const input = kind === 'W' ? undefined : await this.receiveInput(action, place);
      this.report({ ...place, waiting: false, finished: this.progress.finished });
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
          commSeconds = await this.send('activation', stage + 1, microbatch, output);
        }
        liveMicrobatches++;
      } else if (kind === 'W') {
        segment.backwardWeight(microbatch);
      } else {
        const gradient = input as Float32Array | number;
        const gradInput = kind === 'B' ? segment.backward(microbatch, gradient) : segment.backwardInput(microbatch, gradient);
        if (gradInput !== null) commSeconds = await this.send('gradient', stage - 1, microbatch, gradInput);
      }
      if (kind === 'B' || kind === 'W') liveMicrobatches--;
      const end = now();
      actions.push({ kind, stage, microbatch, start, end, commSeconds });
      peakActivations = Math.max(peakActivations, liveMicrobatches);
      peakActivationBytes = Math.max(peakActivationBytes, this.liveStashBytes());
      this.progress = { phase: 'step', step, waiting: false, finished: this.progress.finished + 1 };
    }
    await this.sumTiedGradientsAcrossRanks();
    const squareSums = [...built.segments].map(([stage, segment]) => ({ stage, sums: gradientSquareSums(segment.parameters) }));
    const leftover = this.mailbox.pending();
    if (leftover.length > 0) throw new Error(`messages left over after the step: ${leftover.join(', ')}`);
    return { type: 'stepDone', losses, squareSums, actions, peakActivationBytes, peakActivations };
  }

  /** F: the activation from the previous stage (null on stage 0); B and I: the gradient from the next stage, or the loss scale on the last. */
  private receiveInput({ kind, stage, microbatch }: Action, place: Omit<Progress, 'waiting' | 'finished'>): Promise<Float32Array | number | null> {
    const { lastStage, setup } = this.share();
    if (kind === 'F') return stage === 0 ? Promise.resolve(null) : this.receive(mailKey('activation', stage, microbatch), place);
    if (stage === lastStage) return Promise.resolve(1 / setup.microbatches);
    return this.receive(mailKey('gradient', stage, microbatch), place);
  }

  /** A peer's message goes to the mailbox if this rank expects it, has not got it yet, and it has the expected shape; else the peer is dropped. */
  private deliver(peer: number, message: PeerMessage): void {
    const key = mailKey(message.payload, message.stage, message.microbatch);
    const shape = this.built?.expected.get(key);
    const size = shape?.reduce((product, length) => product * length, 1);
    let refusal: string | undefined;
    if (shape === undefined) refusal = `a ${message.payload} for stage ${message.stage}, micro-batch ${message.microbatch}, which rank ${this.rank} never receives`;
    else if (message.shape.join(',') !== shape.join(',') || message.data.length !== size) {
      refusal = `a ${message.payload} of shape [${message.shape.join(', ')}] (${message.data.length} values) where [${shape.join(', ')}] was expected`;
    } else if (this.mailbox.has(key)) refusal = `${key} twice`;
    if (refusal === undefined) this.mailbox.deliver(key, message.data);
    else this.transport.drop(peer, `rank ${peer} sent ${refusal}`);
  }

  /** A peer's message: first polled for awake for up to pollMs (the core stays busy), then awaited asleep. */
  private async receive(key: string, place: Omit<Progress, 'waiting' | 'finished'>): Promise<Float32Array> {
    if (!this.mailbox.has(key)) {
      this.report({ ...place, waiting: true, finished: this.progress.finished });
      const pollMs = this.share().setup.pollMs;
      if (pollMs > 0 && this.transport.poll) await this.transport.poll(() => this.mailbox.has(key), pollMs);
    }
    return this.mailbox.receive(key);
  }

  private microBatch(stage: number, microbatch: number, tokens?: readonly Int32Array[], targets?: readonly Int32Array[]): MicroBatch {
    const { setup, lastStage } = this.share();
    const { microbatchSize: B, seqLen: T } = setup;
    return {
      B,
      T,
      ...(stage === 0 ? { tokens: tokens![microbatch]! } : {}),
      ...(stage === lastStage ? { targets: targets![microbatch]! } : {}),
    };
  }

  /** Hands a copy of `data` to the rank that owns `stage` (the receiver owns the copy); returns the seconds it took. */
  private async send(payload: PeerMessage['payload'], stage: number, microbatch: number, data: Float32Array): Promise<number> {
    const start = now();
    const copy = data.slice();
    const { setup } = this.share();
    const owner = setup.placement[stage]!;
    if (owner === this.rank) this.mailbox.deliver(mailKey(payload, stage, microbatch), copy);
    else await this.transport.send(owner, { payload, stage, microbatch, shape: [setup.microbatchSize, setup.seqLen, setup.config.embd], data: copy });
    return now() - start;
  }

  private liveStashBytes(): number {
    let total = 0;
    for (const segment of this.share().segments.values()) total += segment.liveStashBytes();
    return total;
  }

  /** Both copies of a tied embedding end the step holding embedding's + head's gradient (Megatron's embedding all-reduce). */
  private async sumTiedGradientsAcrossRanks(): Promise<void> {
    const { parameters, setup, lastStage } = this.share();
    const local = findTiedParameters(parameters);
    if (local.length > 0) {
      sumTiedGradients(local);
      return;
    }
    if (!setup.config.tied) return;
    const first = setup.placement[0]!;
    const last = setup.placement[lastStage]!;
    const isFirst = this.rank === first;
    if (!isFirst && this.rank !== last) return;
    const copy = parameters.find((parameter) => parameter.name === 'wte.weight')!;
    const peer = isFirst ? last : first;
    await this.transport.send(peer, { payload: 'tied-gradient', stage: 0, microbatch: 0, shape: copy.shape, data: copy.grad.slice() });
    const remote = await this.receive(mailKey('tied-gradient', 0, 0), { phase: 'step', step: this.step });
    addTiedGradient(copy.grad, remote);
  }

  /** Forward only, every micro-batch through every owned stage in turn; keeps no stash. */
  private async evaluate(microbatches: number, tokens?: readonly Int32Array[], targets?: readonly Int32Array[]): Promise<RankReply> {
    const { segments } = this.share();
    const losses: number[] = [];
    for (let microbatch = 0; microbatch < microbatches; microbatch++) {
      for (const [stage, segment] of segments) {
        const place = { phase: 'evaluation', step: this.step, action: { kind: 'F', stage, microbatch } } as const;
        const input = stage === 0 ? null : await this.receive(mailKey('activation', stage, microbatch), place);
        this.report({ ...place, waiting: false, finished: this.progress.finished });
        const output = segment.forward(null, this.microBatch(stage, microbatch, tokens, targets), input);
        if (typeof output === 'number') losses.push(output);
        else await this.send('activation', stage + 1, microbatch, output);
        this.progress = { phase: 'evaluation', step: this.step, waiting: false, finished: this.progress.finished + 1 };
      }
    }
    return { type: 'evaluated', losses };
  }

  private collect(): RankReply {
    const { segments, optimizer } = this.share();
    const stages = [...segments].map(([stage, segment]) => ({
      stage,
      tensors: segment.parameters.map((parameter): NamedTensor => ({ name: parameter.name, data: parameter.data.slice() })),
    }));
    const state = optimizer.exportState();
    const moments: NamedMoments[] = [...state.moments].map(([name, { m, v }]) => ({ name, m: m.slice(), v: v.slice() }));
    return { type: 'collected', stages, optimizerStep: state.step, moments };
  }

  private load(tensors: readonly NamedTensor[], optimizerStep?: number, moments?: readonly NamedMoments[]): void {
    const { parameters, optimizer } = this.share();
    const byName = new Map(tensors.map((tensor) => [tensor.name, tensor.data]));
    for (const parameter of parameters) {
      const data = byName.get(parameter.name);
      if (data === undefined || data.length !== parameter.data.length) throw new Error(`checkpoint has no tensor of ${parameter.data.length} values for ${parameter.name}`);
      parameter.data.set(data);
    }
    if (optimizerStep !== undefined && moments !== undefined) {
      optimizer.importState({ step: optimizerStep, moments: new Map(moments.map(({ name, m, v }) => [name, { m, v }])) });
    }
  }

  private matchesFault({ kind, microbatch }: Action): boolean {
    const fault = this.built?.setup.fault;
    return (
      fault !== undefined &&
      !this.faultFired &&
      fault.rank === this.rank &&
      fault.step === this.step &&
      fault.action === kind &&
      (fault.microbatch === undefined || fault.microbatch === microbatch)
    );
  }

  private async injectFault(action: Action): Promise<void> {
    const fault = this.built?.setup.fault;
    if (fault?.mode === 'nan' || !this.matchesFault(action)) return;
    this.faultFired = true;
    if (fault!.mode === 'exit') this.transport.exit(70);
    if (fault!.mode === 'hang') await new Promise(() => {}); // never resolves: the watchdog must notice
    throw new Error('injected fault (CONVEYOR_FAULT)');
  }

  /** mode nan: this forward's result turns into NaN, which the last stage must catch. */
  private poisoned(action: Action): boolean {
    if (this.built?.setup.fault?.mode !== 'nan' || !this.matchesFault(action)) return false;
    this.faultFired = true;
    return true;
  }

  /** What this rank reported when it failed: "failed at step 2, stage 1, B micro-batch 0: …". */
  failure: string | undefined;

  private fail(error: unknown): void {
    if (this.closed) return;
    const message = error instanceof Error ? error.message : String(error);
    const where = describeProgress(this.progress);
    this.failure ??= `failed at ${where}: ${message}`;
    this.transport.reply({ type: 'failed', where, message });
  }

  /** A peer is gone: the driver hears it from this rank too, in case its own link to that peer is slower to notice. */
  private lose(peer: number | undefined, reason: string): void {
    if (this.closed) return;
    if (peer === undefined) this.close();
    else this.transport.reply({ type: 'peerLost', peer, reason });
  }

  /** Where this rank stands, in words. */
  where(): string {
    return describeProgress(this.progress);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.transport.close();
  }
}
