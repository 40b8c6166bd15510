/** Training hooks that also report the run as lab events: the opening, then every step with its timelines. */
import type { TrainHooks } from '../../runtime/pipeline-training.js';
import { scheduleToJson } from '../../schedule/index.js';
import type { LabEvent } from './events.js';

export function reportingHooks(publish: (event: LabEvent) => void, description: string, steps: number, hooks: TrainHooks = {}): TrainHooks {
  return {
    ...hooks,
    onStart: (plan) => {
      hooks.onStart?.(plan);
      publish({ type: 'run', data: { schedule: scheduleToJson(plan.schedule), description, steps, stageCostS: plan.stageCostS } });
    },
    onStep: (record, timelines) => {
      hooks.onStep?.(record, timelines);
      const { measured, predicted } = timelines();
      publish({ type: 'step', data: { ...record, timeline: measured, predicted } });
    },
  };
}
