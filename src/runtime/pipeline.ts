/**
 * The driver's view of a running pipeline, whatever carries its messages: aligns the ranks' clocks with its
 * own, has the ranks profile the units, hands each rank its stages and action list, and drives training
 * steps: micro-batches in, losses and measured actions out, then the global gradient norm (one scalar from
 * every rank's per-parameter sums, in one fixed order) and the optimizer step on every rank.
 */
import { globalGradientNorm, clipScale, unitCount, type GPTConfig, type GradientSquareSum } from '../nn/index.js';
import { evaluationSchedule, lowerSchedule, validateLoweredSchedule } from '../schedule/index.js';
import type { LoweredSchedule, Schedule } from '../schedule/types.js';
import type { KernelRequest } from '../tensor/index.js';
import { clockOffset, type ClockSample } from './clock.js';
import type { Fault } from './fault.js';
import type { Partition, StageUnitCosts } from './partition.js';
import { unitCosts } from './profile.js';
import { linkLimits, type DriverMessage, type MeasuredAction, type NamedMoments, type NamedTensor, type RankSetup } from './protocol.js';
import { RankPool, type RankPoolOptions } from './rank-pool.js';
import { globalRank, worldSize, type Topology } from './topology.js';
import type { RankLinks } from './transport.js';

export interface PipelineOptions {
  readonly config: GPTConfig;
  readonly seed: number;
  readonly microbatchSize: number;
  readonly seqLen: number;
  readonly recompute: boolean;
  readonly weightDecay: number;
  readonly schedule: Schedule;
  /** Data-parallel replicas of the pipeline (1: none); each takes 1/replicas of every batch. */
  readonly replicas: number;
  readonly partition: Partition;
  /** Micro-batches one evaluation pass holds on each replica. */
  readonly evaluationMicrobatches: number;
  /** Milliseconds a rank polls awake for an awaited message (see threads/thread-ranks.ts pollMilliseconds). */
  readonly pollMs: number;
  readonly fault?: Fault;
}

/** What one training step measured. */
export interface StepOutcome {
  /** Mean loss over the whole batch (every micro-batch), not only the last rank's. */
  readonly loss: number;
  readonly gradNorm: number;
  /** Per pipeline rank (replica 0's ranks), every lowered action with its start and end in seconds on the driver's clock. */
  readonly actions: readonly (readonly MeasuredAction[])[];
  readonly peakActivationBytes: readonly number[];
  readonly peakActivations: readonly number[];
}

export interface ModelState {
  /** Each parameter once, in model order (embedding first, head last). */
  readonly tensors: readonly NamedTensor[];
  readonly optimizerStep: number;
  readonly moments: readonly NamedMoments[];
}

/** [B, T] rows split into `parts` contiguous micro-batches of [B/parts, T]. */
function splitRows(rows: Int32Array, parts: number): Int32Array[] {
  const size = rows.length / parts;
  return Array.from({ length: parts }, (_, part) => rows.slice(part * size, (part + 1) * size));
}

/** [B, T] rows as each replica's micro-batches: replica r takes rows [rB/D, (r+1)B/D), cut into `microbatches` parts. */
function replicaShares(rows: Int32Array, replicas: number, microbatches: number): Int32Array[][] {
  return splitRows(rows, replicas).map((share) => splitRows(share, microbatches));
}

/** A built pipeline: the lowered lists every rank runs and where the ranks sit. */
interface Running extends PipelineOptions {
  readonly lowered: LoweredSchedule;
  readonly topology: Topology;
}

/** Round trips per rank for clock alignment: the shortest of them sets the offset. */
const clockSamples = 8;

/** Seconds on the driver's clock (the same epoch-based clock the ranks read). */
function now(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}

export class Pipeline {
  /** Per stage: bytes one in-flight micro-batch stashes (for the simulator's memory model). */
  stashBytesPerStage: readonly number[] = [];
  private running: Running | undefined;

  private constructor(
    private readonly pool: RankPool,
    /** Per rank: seconds its clock runs ahead of the driver's. */
    private readonly clockOffsets: readonly number[],
  ) {}

  /** Takes over links to ranks that have started, and aligns every rank's clock with the driver's. */
  static async connect(links: RankLinks, options: RankPoolOptions = {}): Promise<Pipeline> {
    const pool = new RankPool(links, options);
    try {
      const offsets: number[] = [];
      for (let rank = 0; rank < pool.size; rank++) {
        const samples: ClockSample[] = [];
        for (let sample = 0; sample < clockSamples; sample++) {
          pool.send(rank, { type: 'ping', sentAt: now() });
          const pong = await pool.receive(rank, 'pong');
          samples.push({ ...pong, returnedAt: now() });
        }
        offsets.push(clockOffset(samples).offset);
      }
      return new Pipeline(pool, offsets);
    } catch (error) {
      await pool.close();
      throw error;
    }
  }

  get transport(): string {
    return this.pool.links.kind;
  }

  get hosts(): readonly string[] {
    return this.pool.links.hosts;
  }

  /**
   * Every rank chooses its kernels (each resolves the request on its own host); returns the names they run,
   * one when all agree ("native-avx2"), else one per rank joined by commas, and the threads per rank.
   */
  async chooseKernels(request: KernelRequest): Promise<{ kernels: string; threads: number }> {
    for (let rank = 0; rank < this.pool.size; rank++) this.pool.send(rank, { type: 'kernels', request });
    const chosen = await this.pool.receiveAll('kernelsChosen');
    const names = [...new Set(chosen.map((reply) => reply.kernels))];
    return { kernels: names.length === 1 ? names[0]! : chosen.map((reply) => reply.kernels).join(','), threads: chosen.reduce((most, reply) => Math.max(most, reply.threads), 0) };
  }

  /**
   * Seconds of F + B per unit as each stage's rank would run it: one rank per distinct host profiles (one at a
   * time, so they do not share cores while timing), and the ranks of a host share its figures.
   */
  async profile(config: GPTConfig, microbatchSize: number, seqLen: number, schedule: Schedule): Promise<StageUnitCosts> {
    const byHost = new Map<string, number[]>();
    for (let rank = 0; rank < schedule.ranks; rank++) {
      const host = this.hosts[rank]!;
      if (byHost.has(host)) continue;
      this.pool.send(rank, { type: 'profile', config, microbatchSize, seqLen });
      byHost.set(host, unitCosts(config, await this.pool.receive(rank, 'profiled')));
    }
    const costs = schedule.placement.map((rank) => byHost.get(this.hosts[rank]!)!);
    if (costs.some((row) => row.length !== unitCount(config))) throw new Error('a profile does not cover every unit');
    return costs;
  }

  /**
   * Lowers the schedule (every transfer, the tied exchange and the reduction across replicas made explicit),
   * and each rank builds its stages; the pipeline is ready to train when every rank answers.
   */
  async build(options: PipelineOptions): Promise<void> {
    const { schedule, partition, replicas, config } = options;
    const topology: Topology = { pipelineRanks: schedule.ranks, replicas };
    if (worldSize(topology) !== this.pool.size) throw new Error(`${this.pool.size} ranks cannot hold ${replicas} replicas of ${schedule.ranks} pipeline ranks`);
    const lowered = lowerSchedule(schedule, { replicas, tiedEmbedding: config.tied });
    validateLoweredSchedule(lowered);
    const evaluation = lowerSchedule(evaluationSchedule(schedule, options.evaluationMicrobatches), { replicas: 1, tiedEmbedding: config.tied });
    this.running = { ...options, lowered, topology };
    const setup = (rank: number): RankSetup => {
      const pipelineRank = rank % schedule.ranks;
      return {
        config,
        seed: options.seed,
        microbatchSize: options.microbatchSize,
        seqLen: options.seqLen,
        microbatches: schedule.microbatches,
        recompute: options.recompute,
        weightDecay: options.weightDecay,
        placement: schedule.placement,
        topology,
        stages: schedule.placement.flatMap((owner, stage) =>
          owner === pipelineRank ? [{ stage, units: [partition.starts[stage]!, partition.starts[stage + 1]!] as const }] : [],
        ),
        order: lowered.order[pipelineRank]!,
        evaluationOrder: evaluation.order[pipelineRank]!,
        evaluationMicrobatches: options.evaluationMicrobatches,
        lossScale: 1 / (schedule.microbatches * replicas),
        pollMs: options.pollMs,
        ...(options.fault ? { fault: options.fault } : {}),
      };
    };
    this.broadcast((rank) => ({ type: 'build', setup: setup(rank) }));
    this.pool.links.expect?.(linkLimits(setup(0)));
    const ready = await this.pool.receiveAll('ready');
    const stashBytes = new Array<number>(schedule.stages).fill(0);
    for (const reply of ready.slice(0, schedule.ranks)) for (const { stage, bytes } of reply.stashBytes) stashBytes[stage] = bytes;
    this.stashBytesPerStage = stashBytes;
  }

  get schedule(): Schedule {
    return this.require().schedule;
  }

  /** The lists the ranks run, with their communication. */
  get lowered(): LoweredSchedule {
    return this.require().lowered;
  }

  private require(): Running {
    if (this.running === undefined) throw new Error('the pipeline is not built yet');
    return this.running;
  }

  /** Global rank of the first and of the last stage's owner in `replica`. */
  private ends(replica: number): { readonly first: number; readonly last: number } {
    const { topology, schedule } = this.require();
    return { first: globalRank(topology, replica, schedule.placement[0]!), last: globalRank(topology, replica, schedule.placement[schedule.stages - 1]!) };
  }

  /** The batch's rows to each replica's first and last stage: [replica] -> its micro-batches. */
  private feed(type: 'step' | 'evaluate', tokens: readonly Int32Array[][], targets: readonly Int32Array[][], fields: { step: number } | { microbatches: number }): void {
    const { replicas } = this.require();
    const firstOf = new Map<number, number>();
    const lastOf = new Map<number, number>();
    for (let replica = 0; replica < replicas; replica++) {
      firstOf.set(this.ends(replica).first, replica);
      lastOf.set(this.ends(replica).last, replica);
    }
    this.broadcast((rank) => ({
      type,
      ...fields,
      ...(firstOf.has(rank) ? { tokens: tokens[firstOf.get(rank)!]! } : {}),
      ...(lastOf.has(rank) ? { targets: targets[lastOf.get(rank)!]! } : {}),
    }) as DriverMessage);
  }

  /** Sends each rank its message; the batch goes only to the ranks that read it. */
  private broadcast(message: (rank: number) => DriverMessage): void {
    for (let rank = 0; rank < this.pool.size; rank++) this.pool.send(rank, message(rank));
  }

  /** Forward and backward of every micro-batch by the schedule, then the clipped optimizer step on every rank. */
  async trainStep(step: number, inputs: Int32Array, targets: Int32Array, learningRate: number, maxGradNorm: number): Promise<StepOutcome> {
    const { schedule, replicas } = this.require();
    this.feed('step', replicaShares(inputs, replicas, schedule.microbatches), replicaShares(targets, replicas, schedule.microbatches), { step });
    const replies = await this.pool.receiveAll('stepDone');
    const loss = this.meanLoss(replies);
    // Every replica holds the reduced gradients; stage order is model order, the order a single worker sums in.
    const pipeline = replies.slice(0, schedule.ranks);
    const byStage: GradientSquareSum[][] = [];
    for (const reply of pipeline) for (const { stage, sums } of reply.squareSums) byStage[stage] = [...sums];
    const gradNorm = globalGradientNorm(byStage.flat());
    this.broadcast(() => ({ type: 'apply', learningRate, clipScale: clipScale(gradNorm, maxGradNorm) }));
    await this.pool.receiveAll('applied');
    // Every rank's times on the driver's clock, so the ranks' actions share one timeline.
    const aligned = replies.map((reply, rank) =>
      reply.actions.map((action) => ({ ...action, start: action.start - this.clockOffsets[rank]!, end: action.end - this.clockOffsets[rank]! })),
    );
    this.pool.watchdog.measured(Math.max(0, ...aligned.flat().map((action) => action.end - action.start)));
    return {
      loss,
      gradNorm,
      actions: aligned.slice(0, schedule.ranks),
      peakActivationBytes: pipeline.map((reply) => reply.peakActivationBytes),
      peakActivations: pipeline.map((reply) => reply.peakActivations),
    };
  }

  /** Mean loss over batches of [B, T] rows, forward only by the evaluation schedule, each replica a share. */
  async evaluate(batches: readonly { readonly inputs: Int32Array; readonly targets: Int32Array }[]): Promise<number> {
    if (batches.length === 0) return Number.NaN;
    const { microbatchSize, seqLen, replicas, evaluationMicrobatches } = this.require();
    const rowsPerPart = microbatchSize * seqLen;
    const tokens = batches.flatMap((batch) => splitRows(batch.inputs, batch.inputs.length / rowsPerPart));
    const targets = batches.flatMap((batch) => splitRows(batch.targets, batch.targets.length / rowsPerPart));
    if (tokens.length !== replicas * evaluationMicrobatches) throw new Error(`the validation set holds ${tokens.length} micro-batches, not ${replicas} × ${evaluationMicrobatches}`);
    const share = <T>(parts: T[]) => Array.from({ length: replicas }, (_, replica) => parts.slice(replica * evaluationMicrobatches, (replica + 1) * evaluationMicrobatches));
    this.feed('evaluate', share(tokens), share(targets), { microbatches: evaluationMicrobatches });
    return this.meanLoss(await this.pool.receiveAll('evaluated'));
  }

  /** Mean of every replica's last-stage losses; replica r's micro-batch m is the batch's micro-batch rM + m, one worker's order. */
  private meanLoss(replies: readonly { readonly losses: readonly number[] }[]): number {
    let sum = 0;
    let count = 0;
    for (let replica = 0; replica < this.require().replicas; replica++) {
      for (const value of replies[this.ends(replica).last]!.losses) {
        sum += value;
        count++;
      }
    }
    return sum / count;
  }

  /** Every parameter and its optimizer moments, gathered by name in model order (a tied copy once). */
  async collect(): Promise<ModelState> {
    // every replica holds the same model: replica 0's ranks say it
    const ranks = this.schedule.ranks;
    for (let rank = 0; rank < ranks; rank++) this.pool.send(rank, { type: 'collect' });
    const replies = await Promise.all(Array.from({ length: ranks }, (_, rank) => this.pool.receive(rank, 'collected')));
    const byStage: NamedTensor[][] = [];
    for (const reply of replies) for (const { stage, tensors } of reply.stages) byStage[stage] = [...tensors];
    const tensors = new Map<string, NamedTensor>();
    // Stage order is model order; a tied copy keeps its first (the embedding's) place.
    for (const tensor of byStage.flat()) if (!tensors.has(tensor.name)) tensors.set(tensor.name, tensor);
    const moments = new Map<string, NamedMoments>();
    for (const reply of replies) for (const moment of reply.moments) if (!moments.has(moment.name)) moments.set(moment.name, moment);
    return { tensors: [...tensors.values()], optimizerStep: replies[0]!.optimizerStep, moments: [...moments.values()] };
  }

  async load(state: ModelState | { readonly tensors: readonly NamedTensor[] }): Promise<void> {
    this.broadcast(() => ({ type: 'load', ...state }));
    await this.pool.receiveAll('loaded');
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
