/** The messages between the coordinator and the ranks, and between ranks. Typed arrays travel as transfers. */
import type { Action, ActionKind } from '../schedule/types.js';
import type { GPTConfig } from '../nn/index.js';
import type { KernelSettings } from '../tensor/index.js';
import type { Fault } from './fault.js';
import type { Payload } from './mailbox.js';

/** What a rank needs to build its share of the model; sent once as workerData. */
export interface RankSetup {
  readonly config: GPTConfig;
  readonly seed: number;
  /** Sequences per micro-batch (B) and their length (T). */
  readonly microbatchSize: number;
  readonly seqLen: number;
  readonly microbatches: number;
  readonly recompute: boolean;
  readonly weightDecay: number;
  /** Stage count of the whole pipeline and which rank owns each stage. */
  readonly placement: readonly number[];
  /** The stages this rank owns with their unit ranges [first, last), in stage order. */
  readonly stages: readonly { readonly stage: number; readonly units: readonly [number, number] }[];
  /** This rank's action list, exactly as the schedule engine generated it. */
  readonly order: readonly Action[];
  /** Milliseconds to busy-poll for an awaited peer message before sleeping (0: sleep at once). */
  readonly pollMs: number;
  /** The kernel backend and its thread count, resolved once by the coordinator for every rank. */
  readonly kernels: KernelSettings;
  readonly fault?: Fault;
}

/** One measured action; times in seconds since the rank's time origin (performance.timeOrigin-based, so comparable across ranks). */
export interface MeasuredAction {
  readonly kind: ActionKind;
  readonly stage: number;
  readonly microbatch: number;
  readonly start: number;
  readonly end: number;
  /** Seconds of that action spent copying and posting messages. */
  readonly commSeconds: number;
}

export type CoordinatorMessage =
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
  | { readonly type: 'load'; readonly tensors: readonly NamedTensor[]; readonly optimizerStep?: number; readonly moments?: readonly NamedMoments[] };

export interface NamedTensor {
  readonly name: string;
  readonly data: Float32Array;
}

export interface NamedMoments {
  readonly name: string;
  readonly m: Float32Array;
  readonly v: Float32Array;
}

export type RankReply =
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
  | { readonly type: 'failed'; readonly where: string; readonly message: string };

/** Between ranks: the activation for a stage's F or the gradient for its backward. */
export interface PeerMessage {
  readonly payload: Payload;
  readonly stage: number;
  readonly microbatch: number;
  readonly data: Float32Array;
}
