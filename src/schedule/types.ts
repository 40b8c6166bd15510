/** The schedule as data: the one type that generators, validator, simulator, runtime and drawings share. */

/** F forward · B full backward · I backward to the input only · W backward to the weights only. */
export type ActionKind = 'F' | 'B' | 'I' | 'W';

export interface Action {
  readonly kind: ActionKind;
  readonly microbatch: number;
  /** The model chunk (virtual stage), 0 .. stages-1; not the rank. */
  readonly stage: number;
}

export interface Schedule {
  readonly name: string;
  readonly ranks: number;
  /** Model chunks in all (ranks × chunks per rank). */
  readonly stages: number;
  readonly microbatches: number;
  /** placement[stage] = the rank that owns that stage. */
  readonly placement: readonly number[];
  /** order[rank] = that rank's actions, in the order it executes them. */
  readonly order: readonly (readonly Action[])[];
  /**
   * [rank] ascending positions i at which order[rank][i], an F, and order[rank][i + 1], a B or I of another
   * stage, run as one overlapped pair (DualPipe's F&B, PyTorch's OVERLAP_F_B): the pair waits for both inputs
   * before it starts, and both outputs leave after it ends. Absent: no pairs.
   */
  readonly overlaps?: readonly (readonly number[])[];
}

/**
 * Communication in a lowered schedule; the names are PyTorch pipelining's, so its compute_comms CSV maps onto them.
 * Sends never block (the receiver buffers what arrives); receives block until their message is there.
 * - SEND_F s m: on the owner of stage s, after F(s, m): stage s's output activation goes to the owner of s+1.
 * - RECV_F s m: on the owner of stage s, before F(s, m): wait for stage s's input activation.
 * - SEND_B s m: on the owner of stage s, after B or I (s, m): the gradient of stage s's input goes to the owner of s-1.
 * - RECV_B s m: on the owner of stage s, before B or I (s, m): wait for the gradient of stage s's output.
 * - SEND_TIED s / RECV_TIED s (s is the first or the last stage, no micro-batch): the tied embedding's gradient
 *   of stage s goes to the owner of the other end / the other end's gradient is awaited and added.
 *   SEND_TIED follows the stage's last weight gradient (and its REDUCE_GRAD, whose result it sends);
 *   RECV_TIED ends the rank's list. Both ends then hold the same sum (addition commutes).
 * - REDUCE_GRAD s (no micro-batch): stage s's gradients are reduced across data-parallel replicas, issued as
 *   soon as stage s's last backward is done so it overlaps the rest of the step; a collective of the ranks
 *   that own stage s in every replica, complete before the step's gradient norm.
 */
export type CommKind = 'SEND_F' | 'RECV_F' | 'SEND_B' | 'RECV_B' | 'SEND_TIED' | 'RECV_TIED' | 'REDUCE_GRAD';

export interface CommAction {
  readonly kind: CommKind;
  readonly stage: number;
  /** The micro-batch whose activation or gradient moves; absent for the per-step tied and reduce actions. */
  readonly microbatch?: number;
}

export type LoweredAction = Action | CommAction;

/** A compute schedule with its communication made explicit; what the runtime executes. */
export interface LoweredSchedule extends Omit<Schedule, 'order' | 'overlaps'> {
  /** Data-parallel replicas of this pipeline that reduce gradients with each other (1: none). */
  readonly replicas: number;
  /** Whether the first and last stages share the embedding matrix (so their owners exchange its gradient). */
  readonly tiedEmbedding: boolean;
  /**
   * order[rank] = that pipeline rank's compute and communication, in execution order (the same in every
   * replica); an overlapped pair is its two computes with both receives before them and both sends after.
   */
  readonly order: readonly (readonly LoweredAction[])[];
}

/**
 * One action on a time axis. Compute actions occupy their rank; on the simulator's timeline a send spans its
 * transfer (issued to arrived), a receive is the instant its rank takes the message (waiting for it is idle
 * time), REDUCE_GRAD spans its collective; none of these make the rank busy.
 */
export interface TimelineEvent {
  readonly rank: number;
  readonly action: LoweredAction;
  readonly start: number;
  readonly end: number;
}

/** What the simulator predicts and what the runtime measures: the same type, so they subtract. */
export interface Timeline {
  readonly events: readonly TimelineEvent[];
  readonly makespan: number;
  /** Per rank: time spent in compute actions. */
  readonly busy: readonly number[];
  /** Per rank: idle / makespan, in [0, 1). */
  readonly bubbleFraction: readonly number[];
  /** Per rank: the most micro-batch activations stashed at once (in micro-batches' worth). */
  readonly peakActivations: readonly number[];
  /** Per rank: the most activation bytes stashed at once. */
  readonly peakActivationBytes: readonly number[];
}
