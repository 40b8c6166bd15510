/** The schedule as data: generate, lower, validate, simulate, and read or write it as text, JSON and PyTorch CSV. */
export type {
  Action, ActionKind, CommAction, CommKind, LoweredAction, LoweredSchedule, Schedule, Timeline, TimelineEvent,
} from './types.js';
export {
  action, actionKinds, commAction, commKinds, formatAction, hasMicrobatch, isCompute, parseAction, parseLoweredAction,
} from './actions.js';
export {
  catalogueEntry,
  catalogueNames,
  isScheduleName,
  scheduleCatalogue,
  scheduleNames,
  type CatalogueEntry,
  type ScheduleName,
} from './catalogue.js';
export { generateSchedule, maxActions, type GenerateOptions } from './generate.js';
export { lowerSchedule, type LoweringOptions } from './lower.js';
export { computePart } from './lowered-structure.js';
export { evaluationSchedule } from './evaluation.js';
export { isForwardOnly } from './structure.js';
export { validateLoweredSchedule, validateSchedule } from './validate.js';
export { simulate } from './simulate.js';
export { timelineFromEvents } from './timeline.js';
export {
  allReduceSeconds,
  checkCostModel,
  messageSeconds,
  stagesPerRank,
  uniformCosts,
  type CostModel,
  type Link,
  type RankDurations,
} from './costs.js';
export { formatLoweredSchedule, formatOrder, formatOrders, formatSchedule, parseLoweredSchedule, parseSchedule } from './text.js';
export { formatTorchCsv, parseTorchCsv } from './torch-csv.js';
export { checkDeclaredShape, loweredFromJson, loweredToJson, scheduleFromJson, scheduleToJson, type ScheduleJson } from './json.js';
export { scheduleTheory, type Theory, type TheorySizes } from './theory.js';
