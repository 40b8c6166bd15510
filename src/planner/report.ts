import type { Estimate } from './estimate.js';
import { describeEffect, type Explanation } from './explain.js';
import type { EstimateConfig } from './config.js';
import { gpuCatalogue } from './hardware.js';
import type { Job } from './plan.js';

const GiB = 2 ** 30;
const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/** A catalogue GPU whose network the config overrode writes the override back (GB/s per GPU). */
function networkOverride(job: Job): { interNodeBandwidthGBs?: number } {
  const listed = gpuCatalogue.find((gpu) => gpu.id === job.gpu.id);
  if (listed === undefined || listed.interNodeBandwidth === job.gpu.interNodeBandwidth) return {};
  return { interNodeBandwidthGBs: job.gpu.interNodeBandwidth / 1e9 };
}

/** The job written back in the estimate-config file shape, so a printed plan can be fed to `estimate`. */
export function configOf(job: Job): EstimateConfig {
  const { model, parallel } = job;
  return {
    model: {
      name: model.name, architecture: model.architecture, layers: model.layers, hidden: model.hidden, heads: model.heads,
      kvHeads: model.kvHeads, ffnHidden: model.ffnHidden, seqLength: model.seqLength, vocab: model.vocab,
      tiedEmbeddings: model.tiedEmbeddings,
    },
    cluster: { gpu: job.gpu.id, gpus: job.gpus, ...networkOverride(job) },
    parallel: { ...parallel },
    precision: job.precision,
    fp32Gradients: job.fp32Gradients,
  };
}

/** The machine-readable estimate: the field names are a contract other tools rely on. */
export function estimateJson(estimate: Estimate): Record<string, unknown> {
  const memory = estimate.memory;
  const time = estimate.time;
  return {
    config: configOf(estimate.job),
    memoryGiB: {
      weights: round(memory.weights / GiB, 3),
      gradients: round(memory.gradients / GiB, 3),
      optimizer: round(memory.optimizer / GiB, 3),
      activations: round(memory.activations / GiB, 3),
      headroom: round(memory.headroom / GiB, 3),
      total: round(memory.total / GiB, 3),
      capacity: round(memory.capacity / GiB, 3),
    },
    fits: memory.fits,
    worstRank: memory.worstRank,
    stepTimeS: round(estimate.stepTimeS, 6),
    tokensPerS: round(estimate.tokensPerS, 1),
    tflopsPerGpu: round(estimate.tflopsPerGpu, 2),
    mfu: round(estimate.mfu, 4),
    bubbleFraction: round(estimate.bubbleFraction, 4),
    microbatches: estimate.microbatches,
    timeS: {
      compute: round(time.compute, 6),
      tensorParallel: round(time.tensorParallel, 6),
      pipelineSends: round(time.pipelineSends, 6),
      bubble: round(time.bubble, 6),
      dataParallel: round(time.dataParallel, 6),
      optimizer: round(time.optimizer, 6),
    },
  };
}

const pad = (text: string, width: number): string => text.padStart(width);
const gib = (bytes: number): string => (bytes / GiB).toFixed(1);

/** One line naming the plan: t, p, d, v, micro-batch, schedule, recomputation, ZeRO. */
export function describePlan(job: Job): string {
  const p = job.parallel;
  const chunks = p.virtualStages > 1 ? ` v=${p.virtualStages}` : '';
  return `t=${p.tp} p=${p.pp} d=${p.dp}${chunks} b=${p.microBatchSize} ${p.pp > 1 ? p.schedule : 'no pipeline'}, ` +
    `recompute ${p.recompute}, ZeRO-${p.zero}${p.sequenceParallel && p.tp > 1 ? ', sequence parallel' : ''}`;
}

/** The human-readable estimate: plan, memory breakdown, time breakdown, throughput. */
export function formatEstimate(estimate: Estimate): string {
  const { job, memory, time } = estimate;
  const share = (seconds: number): string => `${seconds.toFixed(3).padStart(9)} s  ${pad((100 * seconds / time.step).toFixed(1), 5)}%`;
  return [
    `${job.model.name} on ${job.gpus} × ${job.gpu.id} (${job.precision}), global batch ${job.parallel.globalBatchSize} × ${job.model.seqLength} tokens`,
    `plan: ${describePlan(job)}; ${estimate.microbatches} micro-batches per step`,
    '',
    `memory per GPU (${memory.worstRank} pipeline rank, the fuller one)`,
    `  weights      ${pad(gib(memory.weights), 8)} GiB`,
    `  gradients    ${pad(gib(memory.gradients), 8)} GiB`,
    `  optimizer    ${pad(gib(memory.optimizer), 8)} GiB`,
    `  activations  ${pad(gib(memory.activations), 8)} GiB`,
    `  headroom     ${pad(gib(memory.headroom), 8)} GiB  (workspaces 1 GiB + 10% fragmentation)`,
    `  total        ${pad(gib(memory.total), 8)} GiB  of ${gib(memory.capacity)} GiB: ${memory.fits ? 'fits' : 'DOES NOT FIT'}`,
    '',
    'time per step',
    `  compute          ${share(time.compute)}`,
    `  tensor-parallel  ${share(time.tensorParallel)}`,
    `  pipeline sends   ${share(time.pipelineSends)}`,
    `  bubble           ${share(time.bubble)}`,
    `  data-parallel    ${share(time.dataParallel)}`,
    `  optimizer        ${share(time.optimizer)}`,
    `  step             ${time.step.toFixed(3).padStart(9)} s`,
    '',
    `throughput: ${Math.round(estimate.tokensPerS).toLocaleString('en-US')} tokens/s, ${estimate.tflopsPerGpu.toFixed(1)} TFLOP/s per GPU ` +
      `(with recomputation), MFU ${(100 * estimate.mfu).toFixed(1)}%, bubble ${(100 * estimate.bubbleFraction).toFixed(1)}%`,
  ].join('\n');
}

/** The ranked plans as a table with memory and time breakdowns. */
export function formatPlanTable(plans: readonly Estimate[]): string {
  const header = [
    '#', 'tp', 'pp', 'dp', 'v', 'mb', 'schedule', 'recompute', 'zero',
    'mem GiB', 'w+g+o', 'act', 'step s', 'compute', 'tp comm', 'bubble', 'dp comm', 'MFU', 'TFLOP/s',
  ];
  const rows = plans.map((e, i) => {
    const p = e.job.parallel;
    const m = e.memory;
    const t = e.time;
    return [
      `${i + 1}`, `${p.tp}`, `${p.pp}`, `${p.dp}`, `${p.virtualStages}`, `${p.microBatchSize}`, p.pp > 1 ? p.schedule : '-',
      p.recompute, `${p.zero}`, gib(m.total), gib(m.weights + m.gradients + m.optimizer), gib(m.activations),
      e.stepTimeS.toFixed(3), t.compute.toFixed(3), t.tensorParallel.toFixed(3), t.bubble.toFixed(3),
      t.dataParallel.toFixed(3), `${(100 * e.mfu).toFixed(1)}%`, e.tflopsPerGpu.toFixed(0),
    ];
  });
  const widths = header.map((title, column) => rows.reduce((most, row) => Math.max(most, row[column]!.length), title.length));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padStart(widths[column]!)).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** Findings and suggestions in words, each suggestion with its re-estimated effect. */
export function formatExplanation(explanation: Explanation): string {
  const current = explanation.estimate;
  const lines = [formatEstimate(current), ''];
  if (explanation.findings.length === 0) {
    lines.push('no obvious problem: it fits, the bubble is small and communication is mostly hidden.');
  }
  for (const finding of explanation.findings) {
    lines.push(`* ${finding.message}.`);
    if (finding.suggestions.length === 0) lines.push('    no single change helps; re-plan with `conveyor plan`.');
    for (const suggestion of finding.suggestions) {
      lines.push(`    - ${suggestion.change}: ${describeEffect(current, suggestion.estimate)}`);
    }
  }
  return lines.join('\n');
}
