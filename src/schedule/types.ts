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
}

export interface TimelineEvent {
  readonly rank: number;
  readonly action: Action;
  readonly start: number;
  readonly end: number;
}

/** What the simulator predicts and what the runtime measures: the same type, so they subtract. */
export interface Timeline {
  readonly events: readonly TimelineEvent[];
  readonly makespan: number;
  /** Per rank: time spent in actions. */
  readonly busy: readonly number[];
  /** Per rank: idle / makespan, in [0, 1). */
  readonly bubbleFraction: readonly number[];
  /** Per rank: the most micro-batch activations stashed at once (in micro-batches' worth). */
  readonly peakActivations: readonly number[];
  /** Per rank: the most activation bytes stashed at once. */
  readonly peakActivationBytes: readonly number[];
}
