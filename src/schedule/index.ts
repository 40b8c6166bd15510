/** The schedule as data: generate, validate, simulate, and read or write it as text and JSON. */
export type {
  Action, ActionKind, CommAction, CommKind, LoweredAction, LoweredSchedule, Schedule, Timeline, TimelineEvent,
} from './types.js';
export { action, actionKinds, formatAction, parseAction } from './actions.js';
export {
  generateSchedule,
  isScheduleName,
  maxActions,
  scheduleNames,
  type GenerateOptions,
  type ScheduleName,
} from './generate.js';
export { validateSchedule } from './validate.js';
export { simulate } from './simulate.js';
export {
  checkCostModel,
  messageSeconds,
  stagesPerRank,
  uniformCosts,
  type CostModel,
  type Link,
  type RankDurations,
} from './costs.js';
export { formatOrder, formatSchedule, parseSchedule } from './text.js';
export { scheduleFromJson, scheduleToJson, type ScheduleJson } from './json.js';
export { scheduleTheory, type Theory, type TheorySizes } from './theory.js';
