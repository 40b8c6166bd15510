/** A run as the page knows it, built up from its events in arrival order. */
import { UsageError } from '../../errors.js';
import { scheduleFromJson, type Schedule, type Timeline } from '../../schedule/index.js';
import type { LabEvent, RunStart } from './events.js';

export interface RunState {
  readonly start?: RunStart;
  readonly schedule?: Schedule;
  /** [steps] step numbers and their losses, for the curve. */
  readonly stepNumbers: readonly number[];
  readonly losses: readonly number[];
  readonly latest?: { readonly step: number; readonly loss: number; readonly stepTimeS: number; readonly tokensPerS: number };
  /** The latest step that came with timelines, as measured and as predicted. */
  readonly measured?: Timeline;
  readonly predicted?: Timeline;
  readonly measuredStep?: number;
  readonly end?: { readonly valLoss: number; readonly paramChecksum: string };
  readonly failure?: string;
}

export const emptyRun: RunState = { stepNumbers: [], losses: [] };

export function applyEvent(state: RunState, event: LabEvent): RunState {
  switch (event.type) {
    case 'run':
      try {
        return { ...emptyRun, start: event.data, schedule: scheduleFromJson(event.data.schedule) };
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        return { ...emptyRun, failure: `the run's schedule is not valid: ${error.message}` };
      }
    case 'step': {
      const { timeline, predicted, ...figures } = event.data;
      return {
        ...state,
        stepNumbers: [...state.stepNumbers, figures.step],
        losses: [...state.losses, figures.loss],
        latest: figures,
        ...(timeline && predicted ? { measured: timeline, predicted, measuredStep: figures.step } : {}),
      };
    }
    case 'end':
      return { ...state, end: event.data };
    case 'failed':
      return { ...state, failure: event.data.message };
  }
}
