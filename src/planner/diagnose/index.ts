/** Diagnose a pipeline-parallel run from its traces: torch.profiler (Kineto) Chrome traces or Conveyor's own. */
import { UsageError } from '../../errors.js';
import { isConveyorTrace, readConveyorTrace } from './conveyor-trace.js';
import { readKinetoTrace } from './kineto.js';
import type { RankTrace } from './spans.js';

export { diagnose, type Diagnosis, type RankDiagnosis, type RankStep, type Remedy } from './analyse.js';
export { diagnosisJson, formatDiagnosis } from './format.js';
export type { RankTrace, Span, SpanKind, StepSpans } from './spans.js';
export { readKinetoTrace, readConveyorTrace };

/** The ranks one parsed trace file holds: one for a Kineto trace (`index` stands in for a missing rank), all for Conveyor's. */
export function readTrace(json: unknown, source: string, index: number): RankTrace[] {
  if (json === null || typeof json !== 'object' || !Array.isArray((json as { traceEvents?: unknown }).traceEvents)) {
    throw new UsageError(`${source} is not a Chrome trace (no traceEvents array); give torch.profiler's export_chrome_trace output or conveyor's --trace file`);
  }
  return isConveyorTrace(json) ? readConveyorTrace(json, source) : [readKinetoTrace(json, source, index)];
}
