/**
 * The coordinator's view of a running pipeline: starts one worker per rank, hands each its stages and
 * action list, and drives training steps: micro-batches in, losses and measured actions out, then the
 * global gradient norm (one scalar from every rank's per-parameter sums, in one fixed order) and the
 * optimizer step on every rank.
 */
import { globalGradientNorm, clipScale, type GPTConfig, type GradientSquareSum } from '../nn/index.js';
import type { Schedule } from '../schedule/types.js';
import type { KernelSettings } from '../tensor/index.js';
import type { Fault } from './fault.js';
import type { Partition } from './partition.js';
import type { CoordinatorMessage, MeasuredAction, NamedMoments, NamedTensor, RankReply, RankSetup } from './protocol.js';
import { pollMilliseconds, RankPool } from './ranks.js';

export interface PipelineOptions {
  readonly config: GPTConfig;
  readonly seed: number;
  readonly microbatchSize: number;
  readonly seqLen: number;
  readonly recompute: boolean;
  readonly weightDecay: number;
  readonly schedule: Schedule;
  readonly partition: Partition;
  readonly kernels: KernelSettings;
  readonly fault?: Fault;
}

type Reply<T extends RankReply['type']> = Extract<RankReply, { type: T }>;

/** What one training step measured. */
export interface StepOutcome {
  /** Mean loss over the whole batch (every micro-batch), not only the last rank's. */
  readonly loss: number;
  readonly gradNorm: number;
  /** Per rank, every action with its start and end in seconds on the shared clock. */
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

export class Pipeline {
  /** Per stage: bytes one in-flight micro-batch stashes (for the simulator's memory model). */
  readonly stashBytesPerStage: readonly number[];

  private constructor(
    private readonly options: PipelineOptions,
    private readonly pool: RankPool,
    stashBytesPerStage: number[],
  ) {
    this.stashBytesPerStage = stashBytesPerStage;
  }

  static async start(options: PipelineOptions): Promise<Pipeline> {
    const { schedule, partition } = options;
    const pollMs = pollMilliseconds(schedule.ranks);
    const setup = (rank: number): RankSetup => ({
      config: options.config,
      seed: options.seed,
      microbatchSize: options.microbatchSize,
      seqLen: options.seqLen,
      microbatches: schedule.microbatches,
      recompute: options.recompute,
      weightDecay: options.weightDecay,
      placement: schedule.placement,
      stages: schedule.placement.flatMap((owner, stage) =>
        owner === rank ? [{ stage, units: [partition.starts[stage]!, partition.starts[stage + 1]!] as const }] : [],
      ),
      order: schedule.order[rank]!,
      pollMs,
      kernels: options.kernels,
      ...(options.fault ? { fault: options.fault } : {}),
    });
    const pool = new RankPool(new URL('./worker.js', import.meta.url), schedule.ranks, setup);
    try {
      const ready = await pool.receiveAll<Reply<'ready'>>();
      const stashBytes = new Array<number>(schedule.stages).fill(0);
      for (const reply of ready) for (const { stage, bytes } of reply.stashBytes) stashBytes[stage] = bytes;
      return new Pipeline(options, pool, stashBytes);
    } catch (error) {
      await pool.close();
      throw error;
    }
  }

  get schedule(): Schedule {
    return this.options.schedule;
  }

  private firstRank(): number {
    return this.schedule.placement[0]!;
  }

  private lastRank(): number {
    return this.schedule.placement[this.schedule.stages - 1]!;
  }

  /** Sends each rank its message; the batch goes only to the ranks that read it. */
  private broadcast(message: (rank: number) => CoordinatorMessage): void {
    for (let rank = 0; rank < this.pool.size; rank++) this.pool.send(rank, message(rank));
  }

  /** Forward and backward of every micro-batch by the schedule, then the clipped optimizer step on every rank. */
  async trainStep(step: number, inputs: Int32Array, targets: Int32Array, learningRate: number, maxGradNorm: number): Promise<StepOutcome> {
    const parts = this.schedule.microbatches;
    const tokenParts = splitRows(inputs, parts);
    const targetParts = splitRows(targets, parts);
    this.broadcast((rank) => ({
      type: 'step',
      step,
      ...(rank === this.firstRank() ? { tokens: tokenParts } : {}),
      ...(rank === this.lastRank() ? { targets: targetParts } : {}),
    }));
    const replies = await this.pool.receiveAll<Reply<'stepDone'>>();
    const losses = replies[this.lastRank()]!.losses;
    let loss = 0;
    for (const value of losses) loss += value;
    loss /= losses.length;
    // Stage order is model order, so this is the order a single worker would sum in.
    const byStage: GradientSquareSum[][] = [];
    for (const reply of replies) for (const { stage, sums } of reply.squareSums) byStage[stage] = [...sums];
    const gradNorm = globalGradientNorm(byStage.flat());
    this.broadcast(() => ({ type: 'apply', learningRate, clipScale: clipScale(gradNorm, maxGradNorm) }));
    await this.pool.receiveAll<Reply<'applied'>>();
    return {
      loss,
      gradNorm,
      actions: replies.map((reply) => reply.actions),
      peakActivationBytes: replies.map((reply) => reply.peakActivationBytes),
      peakActivations: replies.map((reply) => reply.peakActivations),
    };
  }

  /** Mean loss over batches of [B, T] rows (forward only, through the same ranks). */
  async evaluate(batches: readonly { readonly inputs: Int32Array; readonly targets: Int32Array }[]): Promise<number> {
    if (batches.length === 0) return Number.NaN;
    const rowsPerPart = this.options.microbatchSize * this.options.seqLen;
    const tokens = batches.flatMap((batch) => splitRows(batch.inputs, batch.inputs.length / rowsPerPart));
    const targets = batches.flatMap((batch) => splitRows(batch.targets, batch.targets.length / rowsPerPart));
    this.broadcast((rank) => ({
      type: 'evaluate',
      microbatches: tokens.length,
      ...(rank === this.firstRank() ? { tokens } : {}),
      ...(rank === this.lastRank() ? { targets } : {}),
    }));
    const replies = await this.pool.receiveAll<Reply<'evaluated'>>();
    const losses = replies[this.lastRank()]!.losses;
    return losses.reduce((sum, value) => sum + value, 0) / losses.length;
  }

  /** Every parameter and its optimizer moments, gathered by name in model order (a tied copy once). */
  async collect(): Promise<ModelState> {
    this.broadcast(() => ({ type: 'collect' }));
    const replies = await this.pool.receiveAll<Reply<'collected'>>();
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
    await this.pool.receiveAll<Reply<'loaded'>>();
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
