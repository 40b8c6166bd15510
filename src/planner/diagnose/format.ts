import type { Diagnosis } from './analyse.js';

const round = (value: number, digits = 6): number => Number(value.toFixed(digits));
const percent = (share: number | undefined): string => (share === undefined ? '—' : `${(100 * share).toFixed(1)}%`);
const mean = (values: readonly number[]): number => (values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length);

/** The diagnosis in words: a table per rank (steady steps averaged), then findings and changes re-estimated. */
export function formatDiagnosis(diagnosis: Diagnosis): string {
  const { inferred, steadySteps } = diagnosis;
  const average = (rank: Diagnosis['ranks'][number], pick: (step: Diagnosis['ranks'][number]['steps'][number]) => number): number =>
    mean(steadySteps.map((s) => pick(rank.steps[s]!)));
  const header = ['rank', 'step s', 'busy s', 'idle s', 'peers s', 'collect s', 'opt+other s', 'bubble', 'simulated'];
  const rows = diagnosis.ranks.map((rank) => [
    `${rank.rank}`, average(rank, (s) => s.seconds).toFixed(4), average(rank, (s) => s.busy).toFixed(4),
    average(rank, (s) => s.seconds - s.busy).toFixed(4), average(rank, (s) => s.idle.peers).toFixed(4),
    average(rank, (s) => s.idle.collectives).toFixed(4), average(rank, (s) => s.idle.optimizerOther).toFixed(4),
    percent(rank.bubbleFraction), percent(rank.simulatedBubbleFraction),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padStart(widths[column]!)).join('  ');
  const steps = steadySteps.length === 1 ? `step ${steadySteps[0]}` : `steps ${steadySteps[0]}–${steadySteps[steadySteps.length - 1]} averaged (step 0 left out: one-off work)`;
  const lines = [
    `${inferred.ranks} ranks, ${inferred.schedule}, ${inferred.microbatches} micro-batches, ${inferred.chunks} chunk(s) per rank (${inferred.how}); ${steps}`,
    `step ${diagnosis.stepSeconds.toFixed(4)} s, pipeline phase ${diagnosis.pipelineSeconds.toFixed(4)} s` +
      (diagnosis.simulated === undefined ? '' : ` (the schedule with these stage times and free messages: ${diagnosis.simulated.pipelineSeconds.toFixed(4)} s)`) +
      (diagnosis.alignedClocks ? '' : '; the files do not share a clock, so each rank\'s bubble is within its own window'),
    (diagnosis.theory === undefined ? '' : `theory: bubble ${diagnosis.theory.formula} = ${percent(diagnosis.theory.bubbleFraction)} (${diagnosis.theory.source})`),
    '',
    line(header),
    ...rows.map(line),
    '',
    ...diagnosis.findings.map((finding) => `* ${finding}.`),
    ...diagnosis.stragglers.map((straggler) => `* straggler: ${straggler}.`),
  ];
  if (diagnosis.remedies.length > 0) {
    lines.push('', 'what to change (each simulated with the measured stage times; overheads kept as measured):');
    for (const remedy of diagnosis.remedies) {
      const change = remedy.stepSeconds / diagnosis.stepSeconds - 1;
      lines.push(`    - ${remedy.change}: step ${remedy.stepSeconds.toFixed(4)} s (${(100 * change).toFixed(1)}%)`);
    }
  }
  return lines.filter((text, i) => text !== '' || lines[i - 1] !== '').join('\n');
}

/** The diagnosis as JSON: `bubbleFraction` per rank, the per-rank breakdown of every step, and the rest. */
export function diagnosisJson(diagnosis: Diagnosis): Record<string, unknown> {
  return {
    inferred: diagnosis.inferred,
    steadySteps: diagnosis.steadySteps,
    alignedClocks: diagnosis.alignedClocks,
    stepSeconds: round(diagnosis.stepSeconds),
    pipelineSeconds: round(diagnosis.pipelineSeconds),
    bubbleFraction: diagnosis.ranks.map((rank) => round(rank.bubbleFraction, 4)),
    theory: diagnosis.theory === undefined ? null : { ...diagnosis.theory, bubbleFraction: diagnosis.theory.bubbleFraction ?? null },
    simulated: diagnosis.simulated ?? null,
    ranks: diagnosis.ranks.map((rank) => ({
      rank: rank.rank,
      source: rank.source,
      bubbleFraction: round(rank.bubbleFraction, 4),
      simulatedBubbleFraction: rank.simulatedBubbleFraction === undefined ? null : round(rank.simulatedBubbleFraction, 4),
      forwardPerMicrobatchS: round(rank.forwardPerMicrobatch),
      backwardPerMicrobatchS: round(rank.backwardPerMicrobatch),
      steps: rank.steps.map((step) => ({
        step: step.step, seconds: round(step.seconds), busy: round(step.busy), forward: round(step.forward), backward: round(step.backward),
        idle: { peers: round(step.idle.peers), collectives: round(step.idle.collectives), optimizerOther: round(step.idle.optimizerOther) },
      })),
    })),
    slowestStage: diagnosis.slowest,
    exposedCommunicationS: round(diagnosis.exposedCommunication),
    stragglers: diagnosis.stragglers,
    findings: diagnosis.findings,
    remedies: diagnosis.remedies,
  };
}
