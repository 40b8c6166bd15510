/**
 * The messages between the driver and the ranks, and the tensors between ranks. Nothing here says how they
 * travel: worker threads post them, TCP encodes them as frames (wire.ts), a browser posts them to Web Workers.
 */
import type { ActionKind, LoweredAction } from '../schedule/types.js';
import type { GPTConfig } from '../nn/index.js';
import type { KernelRequest } from '../tensor/index.js';
import type { Fault } from './fault.js';
import type { Payload } from './mailbox.js';
import type { Topology } from './topology.js';

/** A stage this rank owns: its index and its unit range [first, last). */
export interface StageUnits {
  readonly stage: number;
  readonly units: readonly [number, number];
}

/** What a rank needs to build its share of the model; sent once, in the 'build' message. */
export interface RankSetup {
  readonly config: GPTConfig;
  readonly seed: number;
  /** Sequences per micro-batch (B) and their length (T). */
  readonly microbatchSize: number;
  readonly seqLen: number;
  readonly microbatches: number;
  readonly recompute: boolean;
  readonly weightDecay: number;
  /** Stage count of the whole pipeline and which pipeline rank owns each stage. */
  readonly placement: readonly number[];
  /** Pipeline ranks per replica and replicas: where every global rank sits (topology.ts). */
  readonly topology: Topology;
  /** The stages this rank owns, in stage order. */
  readonly stages: readonly StageUnits[];
  /** This rank's lowered action list for a training step, exactly as the schedule engine lowered it. */
  readonly order: readonly LoweredAction[];
  /** This rank's lowered list for one evaluation pass (forward only). */
  readonly evaluationOrder: readonly LoweredAction[];
  /** Micro-batches of one evaluation pass on each replica. */
  readonly evaluationMicrobatches: number;
  /** dLoss of one micro-batch on the last stage: 1 / (micro-batches × replicas), so gradients sum to the batch mean. */
  readonly lossScale: number;
  /** Milliseconds to wait awake (busy-polling) for an awaited peer message before sleeping (0: sleep at once). */
  readonly pollMs: number;
  readonly fault?: Fault;
}

/** What a link carries at most once the job's sizes are known; a frame past these is dropped with its link. */
export interface LinkLimits {
  /** Bytes of one tensor between ranks: an activation [B, T, C], a tied gradient [V, C], a reduced slice. */
  readonly tensorBytes: number;
  /** Bytes of one typed array in a control message: a parameter, its moments, a micro-batch's tokens. */
  readonly attachmentBytes: number;
  /** Typed arrays in one control message: every parameter and its two moments, or every micro-batch's tokens. */
  readonly attachments: number;
}

export function linkLimits(setup: Pick<RankSetup, 'config' | 'microbatchSize' | 'seqLen' | 'microbatches' | 'evaluationMicrobatches' | 'topology'>): LinkLimits {
  const { vocabSize: V, blockSize, embd: C, layers: L, tied } = setup.config;
  const tokens = setup.microbatchSize * setup.seqLen;
  const largestParameter = Math.max(V * C, blockSize * C, 4 * C * C);
  const modelParameters = V * C * (tied ? 1 : 2) + blockSize * C + 2 * C + L * (12 * C * C + 13 * C);
  // every tensor of a block, of the embedding and of the head, each with two moments
  const parameterTensors = 12 * L + 6;
  return {
    // a reduced slice is a stage's gradients over the replicas; a stage holds at most the whole model
    tensorBytes: 4 * Math.max(tokens * C, V * C, Math.ceil(modelParameters / setup.topology.replicas)),
    attachmentBytes: 4 * Math.max(largestParameter, tokens),
    attachments: 3 * parameterTensors + 2 * Math.max(setup.microbatches, setup.evaluationMicrobatches) + 8,
  };
}

/**
 * One measured action of the lowered list; start and end in epoch seconds on the rank's own clock (the driver
 * moves them onto its own). A receive is the instant its message is taken (waiting for it is idle time); a
 * send spans handing the message to the transport; a REDUCE_GRAD spans its collective, which overlaps compute.
 */
export type MeasuredAction = LoweredAction & { readonly start: number; readonly end: number };

export interface NamedTensor {
  readonly name: string;
  readonly data: Float32Array;
}

export interface NamedMoments {
  readonly name: string;
  readonly m: Float32Array;
  readonly v: Float32Array;
}

/** Where a rank stands, sent to the driver as it goes (the driver's view of a rank that hangs or dies). */
export interface Progress {
  /** 'start-up' before the first step, then the training step, or the evaluation after the last. */
  readonly phase: 'start-up' | 'step' | 'evaluation';
  readonly step: number;
  /**
   * The compute under way, or the one whose input is awaited; RECV_TIED and REDUCE_GRAD while the rank waits for
   * the tied gradient or the reduction; absent between actions.
   */
  readonly action?: { readonly kind: ActionKind | 'RECV_TIED' | 'REDUCE_GRAD'; readonly stage: number; readonly microbatch?: number };
  /** True while the action waits for its input from a peer (idle time, not work). */
  readonly waiting: boolean;
  /** Actions finished since the rank started: a rank whose count stands still makes no progress. */
  readonly finished: number;
}

export const startUp: Progress = { phase: 'start-up', step: 0, waiting: false, finished: 0 };

/** In words: "step 2, stage 1, B micro-batch 3" or "step 2, stage 1, waiting for the input of F micro-batch 1". */
export function describeProgress(progress: Progress): string {
  const phase = progress.phase === 'step' ? `step ${progress.step}` : progress.phase;
  if (progress.action === undefined) return progress.phase === 'start-up' ? phase : `${phase}, between actions`;
  const { kind, stage, microbatch } = progress.action;
  if (kind === 'RECV_TIED') return `${phase}, stage ${stage}, waiting for the tied embedding's gradient from the other end`;
  if (kind === 'REDUCE_GRAD') return `${phase}, stage ${stage}, waiting for its gradients' reduction across replicas`;
  const action = `${kind} micro-batch ${microbatch}`;
  return progress.waiting ? `${phase}, stage ${stage}, waiting for the input of ${action}` : `${phase}, stage ${stage}, ${action}`;
}

export type DriverMessage =
  /** Clock alignment: the rank answers at once with its own clock's readings. */
  | { readonly type: 'ping'; readonly sentAt: number }
  /** Choose this rank's kernels (before it profiles or builds anything). */
  | { readonly type: 'kernels'; readonly request: KernelRequest }
  /** Time F + B of the unit kinds (embedding, one block, head) on this rank, for balancing the stages. */
  | { readonly type: 'profile'; readonly config: GPTConfig; readonly microbatchSize: number; readonly seqLen: number }
  | { readonly type: 'build'; readonly setup: RankSetup }
  | {
      readonly type: 'step';
      readonly step: number;
      /** [microbatches] of [B, T] token ids, for the rank owning stage 0. */
      readonly tokens?: readonly Int32Array[];
      /** [microbatches] of [B, T] next-token targets, for the rank owning the last stage. */
      readonly targets?: readonly Int32Array[];
    }
  | { readonly type: 'apply'; readonly learningRate: number; readonly clipScale: number }
  | {
      readonly type: 'evaluate';
      readonly microbatches: number;
      readonly tokens?: readonly Int32Array[];
      readonly targets?: readonly Int32Array[];
    }
  | { readonly type: 'collect' }
  | { readonly type: 'load'; readonly tensors: readonly NamedTensor[]; readonly optimizerStep?: number; readonly moments?: readonly NamedMoments[] }
  /** The job is over, or (failedRank set) failed at that rank: close every link and end. */
  | { readonly type: 'stop'; readonly failedRank?: number };

export type RankReply =
  | { readonly type: 'pong'; readonly sentAt: number; readonly receivedAt: number; readonly repliedAt: number }
  /** The kernels the rank runs ("native-avx2", "wasm-simd128") and their threads. */
  | { readonly type: 'kernelsChosen'; readonly kernels: string; readonly threads: number }
  /** Median seconds of F + B of one micro-batch per unit kind. */
  | { readonly type: 'profiled'; readonly embedding: number; readonly block: number; readonly head: number }
  | {
      readonly type: 'ready';
      /** Per owned stage: bytes one in-flight micro-batch stashes there (under the run's recompute setting). */
      readonly stashBytes: readonly { readonly stage: number; readonly bytes: number }[];
    }
  | {
      readonly type: 'stepDone';
      /** Loss of each micro-batch, when this rank owns the last stage ([] otherwise). */
      readonly losses: readonly number[];
      /** Per owned stage, in stage order: Σ grad² (float64) per parameter, in the stage's parameter order. */
      readonly squareSums: readonly { readonly stage: number; readonly sums: readonly { readonly name: string; readonly sumOfSquares: number }[] }[];
      readonly actions: readonly MeasuredAction[];
      readonly peakActivationBytes: number;
      /** The most micro-batches this rank held stashed at once. */
      readonly peakActivations: number;
    }
  | { readonly type: 'applied' }
  | { readonly type: 'evaluated'; readonly losses: readonly number[] }
  | {
      readonly type: 'collected';
      /** Per owned stage, its parameters in model order; a tied copy appears on both stages that hold one. */
      readonly stages: readonly { readonly stage: number; readonly tensors: readonly NamedTensor[] }[];
      readonly optimizerStep: number;
      readonly moments: readonly NamedMoments[];
    }
  | { readonly type: 'loaded' }
  | { readonly type: 'progress'; readonly progress: Progress }
  | { readonly type: 'failed'; readonly where: string; readonly message: string }
  /** This rank lost its link to `peer` (closed, reset, dropped): evidence that `peer` failed. */
  | { readonly type: 'peerLost'; readonly peer: number; readonly reason: string };

/** Between ranks: the activation for a stage's F, the gradient for its backward, the tied embedding's gradient. */
export interface PeerMessage {
  readonly payload: Payload;
  readonly stage: number;
  readonly microbatch: number;
  /** The tensor's shape as the sender means it ([B, T, C] for an activation); the receiver checks it. */
  readonly shape: readonly number[];
  readonly data: Float32Array;
}
