/**
 * One rank: owns its stages' layers, parameters, gradients and optimizer state, and executes exactly the
 * lowered action list the schedule engine made for it: compute, sends and receives of activations and
 * gradients, the tied embedding's exchange, the data-parallel reduction. It keeps no communication rule of
 * its own. It talks to its peers and to the driver only through a Transport, and imports no `node:` module,
 * so the same loop runs in a worker thread, in a process of its own on any host, or in a browser's Web Worker.
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
import type { Action, LoweredAction } from '../schedule/types.js';
import { configureKernels, kernelsName } from '../tensor/index.js';
import { chunkBounds, receivedChunk, ringAllReduce } from './collectives.js';
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
import { globalRank, pipelineRankOf, replicaOf } from './topology.js';
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
  readonly replica: number;
  /** Every message this rank may be sent, by mail key, with the shape it must have. */
  readonly expected: ReadonlyMap<string, readonly number[]>;
}

/** The key a message is filed under at its receiver: a stage's input activation, a stage's output gradient, a tied end's gradient. */
const activationKey = (stage: number, microbatch: number) => mailKey('activation', stage, microbatch);
const gradientKey = (stage: number, microbatch: number) => mailKey('gradient', stage, microbatch);
const tiedKey = (fromStage: number) => mailKey('tied-gradient', fromStage, 0);
const reduceKey = (stage: number, step: number) => mailKey('reduce', stage, step);
const payloadWords: Record<PeerMessage['payload'], string> = { activation: 'an activation', gradient: 'a gradient', 'tied-gradient': 'a tied embedding gradient', reduce: 'a slice of a reduction' };

/** The stage's parameters' gradients end to end: [Σ sizes] float32, in parameter order. */
function flatGradients(parameters: readonly Parameter[]): Float32Array {
  const flat = new Float32Array(parameters.reduce((sum, parameter) => sum + parameter.grad.length, 0));
  let offset = 0;
  for (const { grad } of parameters) {
    flat.set(grad, offset);
    offset += grad.length;
  }
  return flat;
}

/** Mail keys and shapes of everything this rank receives, read off its lowered lists. */
function expectedMessages(setup: RankSetup, replica: number, parameterCounts: ReadonlyMap<number, number>): Map<string, readonly number[]> {
  const { microbatchSize: B, seqLen: T, config, topology } = setup;
  const lastStage = setup.placement.length - 1;
  const activation = [B, T, config.embd];
  const expected = new Map<string, readonly number[]>();
  for (const action of [...setup.order, ...setup.evaluationOrder]) {
    const { kind, stage } = action;
    if (kind === 'RECV_F') expected.set(activationKey(stage, action.microbatch!), activation);
    else if (kind === 'RECV_B') expected.set(gradientKey(stage, action.microbatch!), activation);
    else if (kind === 'RECV_TIED') expected.set(tiedKey(stage === 0 ? lastStage : 0), [config.vocabSize, config.embd]);
    else if (kind === 'REDUCE_GRAD') {
      const bounds = chunkBounds(parameterCounts.get(stage)!, topology.replicas);
      for (let step = 0; step < 2 * (topology.replicas - 1); step++) {
        const chunk = receivedChunk(replica, topology.replicas, step);
        expected.set(reduceKey(stage, step), [bounds[chunk + 1]! - bounds[chunk]!]);
      }
    }
  }
  return expected;
}

/** What a step (or an evaluation pass) of the lowered list produced. */
interface ListOutcome {
  readonly losses: number[];
  readonly actions: MeasuredAction[];
  readonly peakActivations: number;
  readonly peakActivationBytes: number;
}

export class Rank {
  private built: Built | undefined;
  private readonly mailbox = new Mailbox();
  /** Inputs a compute action will consume: received (RECV_*) or handed over in memory by a stage on this rank. */
  private readonly ready = new Map<string, Float32Array>();
  /** Outputs waiting for their SEND_*: the copy out of kernel memory, which the transport may then own. */
  private readonly outbox = new Map<string, Float32Array>();
  /** Per stage, its reduction across replicas (issued by REDUCE_GRAD, awaited by what needs its result). */
  private readonly reductions = new Map<number, Promise<void>>();
  /** Reductions run one after another, as on one collective stream. */
  private collective: Promise<void> = Promise.resolve();
  private progress: Progress = startUp;
  private faultFired = false;
  private step = 0;
  private closed = false;
  /** One command at a time, in arrival order: a step must finish before the optimizer applies it. */
  private queue: Promise<void> = Promise.resolve();
  private readonly heartbeat: ReturnType<typeof setInterval>;
  /** What this rank reported when it failed: "failed at step 2, stage 1, B micro-batch 0: …". */
  failure: string | undefined;

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
    this.queue = this.queue
      .then(async () => {
        if (this.closed) return;
        const reply = await this.handle(message);
        if (!this.closed) this.transport.reply(reply);
      })
      .catch((error: unknown) => this.fail(error));
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
      case 'evaluate': {
        const outcome = await this.runList('evaluation', this.share().setup.evaluationOrder, message.tokens, message.targets);
        this.checkDrained();
        return { type: 'evaluated', losses: outcome.losses };
      }
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
    const parameterCounts = new Map([...segments].map(([stage, segment]) => [stage, segment.parameters.reduce((sum, p) => sum + p.grad.length, 0)]));
    const replica = replicaOf(setup.topology, this.rank);
    this.built = {
      setup,
      segments,
      parameters,
      optimizer: new AdamW(parameters, { weightDecay: setup.weightDecay }),
      lastStage: setup.placement.length - 1,
      replica,
      expected: expectedMessages(setup, replica, parameterCounts),
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

  /** The global rank that owns `stage` in this rank's replica. */
  private owner(stage: number): number {
    const { setup, replica } = this.share();
    return globalRank(setup.topology, replica, setup.placement[stage]!);
  }

  /** Tells the driver where this rank stands (also the heartbeat). */
  private report(progress: Progress = this.progress): void {
    this.progress = progress;
    if (!this.closed) this.transport.reply({ type: 'progress', progress });
  }

  private async trainStep(step: number, tokens?: readonly Int32Array[], targets?: readonly Int32Array[]): Promise<RankReply> {
    this.step = step;
    const { setup, segments, parameters } = this.share();
    const outcome = await this.runList('step', setup.order, tokens, targets);
    await this.collective;
    // both copies of a tied embedding on this rank: each ends with the sum, as two ranks' exchange gives
    sumTiedGradients(findTiedParameters(parameters));
    this.checkDrained();
    const squareSums = [...segments].map(([stage, segment]) => ({ stage, sums: gradientSquareSums(segment.parameters) }));
    return { type: 'stepDone', losses: outcome.losses, squareSums, actions: outcome.actions, peakActivationBytes: outcome.peakActivationBytes, peakActivations: outcome.peakActivations };
  }

  /** After a step or an evaluation nothing may be left over: the schedule and the traffic agreed. */
  private checkDrained(): void {
    const leftover = [...this.mailbox.pending(), ...[...this.ready.keys()].map((key) => `unused ${key}`), ...[...this.outbox.keys()].map((key) => `unsent ${key}`)];
    this.reductions.clear();
    if (leftover.length > 0) throw new Error(`messages left over after the ${this.progress.phase === 'evaluation' ? 'evaluation' : 'step'}: ${leftover.join(', ')}`);
  }

  /** The next compute action on the list at or after `position` that works on (stage, micro-batch): what a receive feeds. */
  private static consumer(order: readonly LoweredAction[], position: number, stage: number, microbatch: number): Action['kind'] {
    for (let at = position; at < order.length; at++) {
      const action = order[at]!;
      if (action.stage === stage && action.microbatch === microbatch && (action.kind === 'F' || action.kind === 'B' || action.kind === 'I')) return action.kind;
    }
    return 'F';
  }

  /** Executes one lowered list: a training step (phase 'step') or an evaluation pass. */
  private async runList(phase: 'step' | 'evaluation', order: readonly LoweredAction[], tokens?: readonly Int32Array[], targets?: readonly Int32Array[]): Promise<ListOutcome> {
    const built = this.share();
    const { segments, setup, lastStage } = built;
    const training = phase === 'step';
    const step = this.step;
    const losses: number[] = [];
    const actions: MeasuredAction[] = [];
    let live = 0;
    let peakActivations = 0;
    let peakActivationBytes = 0;
    this.progress = { phase, step, waiting: false, finished: this.progress.finished };
    for (let position = 0; position < order.length; position++) {
      const action = order[position]!;
      const { stage } = action;
      const microbatch = action.microbatch ?? 0;
      switch (action.kind) {
        case 'RECV_F':
        case 'RECV_B': {
          const key = action.kind === 'RECV_F' ? activationKey(stage, microbatch) : gradientKey(stage, microbatch);
          const consumer = action.kind === 'RECV_F' ? 'F' : Rank.consumer(order, position, stage, microbatch);
          this.ready.set(key, await this.receive(key, { phase, step, action: { kind: consumer, stage, microbatch } }));
          const taken = now();
          actions.push({ ...action, start: taken, end: taken });
          break;
        }
        case 'SEND_F':
        case 'SEND_B': {
          const forward = action.kind === 'SEND_F';
          const to = forward ? stage + 1 : stage - 1;
          const key = forward ? activationKey(to, microbatch) : gradientKey(to, microbatch);
          const data = this.take(this.outbox, key, action);
          const start = now();
          await this.transport.send(this.owner(to), { payload: forward ? 'activation' : 'gradient', stage: to, microbatch, shape: [setup.microbatchSize, setup.seqLen, setup.config.embd], data });
          actions.push({ ...action, start, end: now() });
          break;
        }
        case 'REDUCE_GRAD': {
          const start = now();
          const reduction = this.collective.then(() => this.reduce(stage));
          this.collective = reduction;
          this.reductions.set(stage, reduction);
          const record = { ...action, start, end: start };
          actions.push(record);
          void reduction.then(() => (record.end = now()), () => undefined);
          break;
        }
        case 'SEND_TIED': {
          await this.reduced(stage, phase, step);
          const copy = this.tiedCopy(stage);
          const start = now();
          await this.transport.send(this.owner(stage === 0 ? lastStage : 0), { payload: 'tied-gradient', stage, microbatch: 0, shape: copy.shape, data: copy.grad.slice() });
          actions.push({ ...action, start, end: now() });
          break;
        }
        case 'RECV_TIED': {
          const remote = await this.receive(tiedKey(stage === 0 ? lastStage : 0), { phase, step, action: { kind: 'RECV_TIED', stage } });
          await this.reduced(stage, phase, step);
          const start = now();
          addTiedGradient(this.tiedCopy(stage).grad, remote);
          actions.push({ ...action, start, end: now() });
          break;
        }
        default: {
          const compute = action as Action;
          const segment = segments.get(stage)!;
          this.report({ phase, step, action: { kind: compute.kind, stage, microbatch }, waiting: false, finished: this.progress.finished });
          const start = now();
          await this.injectFault(compute);
          if (compute.kind === 'F') {
            const input = stage === 0 ? null : this.take(this.ready, activationKey(stage, microbatch), compute);
            const output = segment.forward(training ? microbatch : null, this.microBatch(stage, microbatch, tokens, targets), input);
            if (typeof output === 'number') {
              const loss = this.poisoned(compute) ? Number.NaN : output;
              if (!Number.isFinite(loss)) throw new Error(`loss is ${loss}`);
              losses[microbatch] = loss;
            } else {
              if (this.poisoned(compute)) output.fill(Number.NaN);
              this.handOn(activationKey(stage + 1, microbatch), stage + 1, output);
            }
            if (training) live++;
          } else if (compute.kind === 'W') {
            segment.backwardWeight(microbatch);
          } else {
            const gradient = stage === lastStage ? setup.lossScale : this.take(this.ready, gradientKey(stage, microbatch), compute);
            const gradInput = compute.kind === 'B' ? segment.backward(microbatch, gradient) : segment.backwardInput(microbatch, gradient);
            if (gradInput !== null) this.handOn(gradientKey(stage - 1, microbatch), stage - 1, gradInput);
          }
          if (compute.kind === 'B' || compute.kind === 'W') live--;
          actions.push({ ...compute, start, end: now() });
          peakActivations = Math.max(peakActivations, live);
          peakActivationBytes = Math.max(peakActivationBytes, this.liveStashBytes());
          this.progress = { phase, step, waiting: false, finished: this.progress.finished + 1 };
        }
      }
    }
    return { losses, actions, peakActivations, peakActivationBytes };
  }

  /** A compute output leaves kernel memory as a copy: for a stage on this rank directly, else for its SEND. */
  private handOn(key: string, toStage: number, output: Float32Array): void {
    const copy = output.slice();
    if (this.owner(toStage) === this.rank) this.ready.set(key, copy);
    else this.outbox.set(key, copy);
  }

  private take(from: Map<string, Float32Array>, key: string, action: LoweredAction): Float32Array {
    const data = from.get(key);
    if (data === undefined) throw new Error(`${action.stage}${action.kind}${action.microbatch ?? ''} has no ${key}: the lowered list and the computation disagree`);
    from.delete(key);
    return data;
  }

  /** Waits (reporting so) until stage's reduction across replicas, if it has one this step, is complete. */
  private async reduced(stage: number, phase: Progress['phase'], step: number): Promise<void> {
    const reduction = this.reductions.get(stage);
    if (reduction === undefined) return;
    this.report({ phase, step, action: { kind: 'REDUCE_GRAD', stage }, waiting: true, finished: this.progress.finished });
    await reduction;
  }

  /** Ring all-reduce of one stage's gradients with the ranks that own it in the other replicas. */
  private async reduce(stage: number): Promise<void> {
    const { segments, setup, replica } = this.share();
    const { topology } = setup;
    const parameters = segments.get(stage)!.parameters;
    const flat = flatGradients(parameters);
    const pipelineRank = pipelineRankOf(topology, this.rank);
    const next = globalRank(topology, (replica + 1) % topology.replicas, pipelineRank);
    const place = { phase: this.progress.phase, step: this.step, action: { kind: 'REDUCE_GRAD', stage } } as const;
    await ringAllReduce(flat, replica, topology.replicas, {
      send: (ringStep, chunk) => this.transport.send(next, { payload: 'reduce', stage, microbatch: ringStep, shape: [chunk.length], data: chunk }),
      receive: (ringStep) => this.receive(reduceKey(stage, ringStep), place),
    });
    let offset = 0;
    for (const { grad } of parameters) {
      grad.set(flat.subarray(offset, offset + grad.length));
      offset += grad.length;
    }
  }

  /** The tied embedding's copy on `stage` (the first stage's wte.weight, or the head's). */
  private tiedCopy(stage: number): Parameter {
    return this.share().segments.get(stage)!.parameters.find((parameter) => parameter.name === 'wte.weight')!;
  }

  /** A peer's message goes to the mailbox if this rank expects it, has not got it yet, and it has the expected shape; else the peer is dropped. */
  private deliver(peer: number, message: PeerMessage): void {
    const key = mailKey(message.payload, message.stage, message.microbatch);
    const shape = this.built?.expected.get(key);
    const size = shape?.reduce((product, length) => product * length, 1);
    let refusal: string | undefined;
    const what = payloadWords[message.payload] ?? `a ${String(message.payload)}`;
    if (shape === undefined) refusal = `${what} for stage ${message.stage}, micro-batch ${message.microbatch}, which rank ${this.rank} never receives`;
    else if (message.shape.join(',') !== shape.join(',') || message.data.length !== size) {
      refusal = `${what} of shape [${message.shape.join(', ')}] (${message.data.length} values) where [${shape.join(', ')}] was expected`;
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

  private liveStashBytes(): number {
    let total = 0;
    for (const segment of this.share().segments.values()) total += segment.liveStashBytes();
    return total;
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
      this.progress.phase === 'step' &&
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

