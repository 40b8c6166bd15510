/** How a finished training run is shown: the JSON object other tools read, and the terminal summary. */
import type { Schedule } from '../schedule/index.js';
import { drawTextGrid } from '../trace/index.js';
import { percent } from '../trace/summary.js';
import { unitsPerStage } from '../runtime/partition.js';
import type { RunResult } from '../runtime/train.js';

export interface RunExtras {
  /** On the built-in task, when the run used it: whole answers right, and answer digits right. */
  readonly accuracy?: number;
  readonly digitAccuracy?: number;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / Math.max(values.length, 1);
}

/** Blocks per stage, the same form `--partition` takes (the embedding sits on the first stage, the head on the last). */
export function blocksPerStage(result: RunResult): number[] {
  const counts = unitsPerStage(result.plan.partition);
  return counts.map((units, stage) => units - (stage === 0 ? 1 : 0) - (stage === counts.length - 1 ? 1 : 0));
}

/** Steps after the first (which pays for start-up), or the only one. */
function steady<T>(values: readonly T[]): readonly T[] {
  return values.length > 1 ? values.slice(1) : values;
}

export function reportJson(result: RunResult, extras: RunExtras): Record<string, unknown> {
  const schedule: Schedule = result.plan.schedule;
  const stepTimes = steady(result.steps).map((step) => step.stepTimeS);
  return {
    steps: result.steps,
    tokensPerS: mean(steady(result.steps).map((step) => step.tokensPerS)),
    stepTimeS: mean(stepTimes),
    valLoss: result.valLoss,
    ...(extras.accuracy === undefined ? {} : { accuracy: extras.accuracy, digitAccuracy: extras.digitAccuracy }),
    paramChecksum: result.paramChecksum,
    stages: schedule.ranks,
    ranks: result.hosts.length,
    replicas: result.replicas,
    hosts: result.hosts,
    transport: result.transport,
    schedule: schedule.name,
    chunks: schedule.stages / schedule.ranks,
    microbatches: schedule.microbatches,
    partition: blocksPerStage(result),
    stageCostS: result.plan.stageCostS,
    bubbleFraction: result.timeline.bubbleFraction,
    simulatedBubbleFraction: result.ideal.bubbleFraction,
    makespanS: result.timeline.makespan,
    simulatedMakespanS: result.ideal.makespan,
    commTimeS: result.commTimeS,
    peakActivationBytes: result.peakActivationBytes,
    kernels: result.kernels,
    kernelThreads: result.kernelThreads,
  };
}

function megabytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
}

/** The table per rank and the last step drawn as a Gantt chart, so the bubble is seen, not only counted. */
export function reportText(result: RunResult, extras: RunExtras): string {
  const json = reportJson(result, extras);
  const schedule = result.plan.schedule;
  const lines: string[] = [];
  const last = result.steps[result.steps.length - 1]!;
  lines.push(
    `trained ${result.steps.length} steps: loss ${last.loss.toFixed(4)}, validation loss ${result.valLoss.toFixed(4)}` +
      (extras.accuracy === undefined ? '' : `, sums right ${percent(extras.accuracy)}, answer digits right ${percent(extras.digitAccuracy!)}`),
  );
  lines.push(`${Math.round(json.tokensPerS as number)} tokens/s, ${((json.stepTimeS as number) * 1000).toFixed(1)} ms per step (steps after the first)`);
  lines.push(`parameters sha256 ${result.paramChecksum.slice(0, 16)}…`);
  lines.push(`kernels ${result.kernels}, ${result.kernelThreads} thread${result.kernelThreads === 1 ? '' : 's'} per rank`);
  lines.push('');
  const header = ['rank', 'stages', 'blocks', 'cost F+B', 'bubble', 'simulated', 'comm', 'peak stash'];
  const blocks = blocksPerStage(result);
  const rows = Array.from({ length: schedule.ranks }, (_, rank) => {
    const stages = schedule.placement.flatMap((owner, stage) => (owner === rank ? [stage] : []));
    return [
      String(rank),
      stages.join(','),
      stages.map((stage) => blocks[stage]).join(','),
      stages.map((stage) => `${(result.plan.stageCostS[stage]! * 1000).toFixed(1)} ms`).join(','),
      percent(result.timeline.bubbleFraction[rank]!),
      percent(result.ideal.bubbleFraction[rank]!),
      `${(result.commTimeS[rank]! * 1000).toFixed(2)} ms`,
      megabytes(result.peakActivationBytes[rank]!),
    ];
  });
  const widths = header.map((cell, i) => rows.reduce((most, row) => Math.max(most, row[i]!.length), cell.length));
  lines.push(pad(header, widths));
  for (const row of rows) lines.push(pad(row, widths));
  lines.push(
    `last step ${(result.timeline.makespan * 1000).toFixed(1)} ms of pipeline, simulated from measured costs ${(result.ideal.makespan * 1000).toFixed(1)} ms`,
  );
  lines.push('');
  lines.push('measured, last step:');
  lines.push(drawTextGrid(schedule, result.timeline, { width: 100 }).trimEnd());
  return lines.join('\n') + '\n';
}
