import type { Estimate } from './estimate.js';
import { describeEffect, type Explanation } from './explain.js';
import type { EstimateConfig } from './config.js';
import { clusterJson } from './cluster.js';
import { gpuCatalogue } from './hardware.js';
import { EXPERT_LOAD_FACTOR } from './layer-time.js';
import { activeParameters, moeOf, totalParameters } from './model.js';
import { contextParallelDegree, expertParallelDegree, type Job } from './plan.js';

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
    model: { ...model },
    cluster: job.cluster === undefined ? { gpu: job.gpu.id, gpus: job.gpus, ...networkOverride(job) } : clusterJson(job.cluster),
    parallel: { ...parallel, cp: contextParallelDegree(parallel), ep: expertParallelDegree(parallel) },
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
      host: round(memory.host / GiB, 3),
      hostCapacity: round(memory.hostCapacity / GiB, 3),
    },
    fits: memory.fits,
    worstRank: memory.worstRank,
    worstRankIndex: memory.worstRankIndex,
    tp: estimate.job.parallel.tp,
    pp: estimate.job.parallel.pp,
    cp: contextParallelDegree(estimate.job.parallel),
    ep: expertParallelDegree(estimate.job.parallel),
    dp: estimate.job.parallel.dp,
    stepTimeS: round(estimate.stepTimeS, 6),
    tokensPerS: round(estimate.tokensPerS, 1),
    tflopsPerGpu: round(estimate.tflopsPerGpu, 2),
    mfu: round(estimate.mfu, 4),
    bubbleFraction: round(estimate.bubbleFraction, 4),
    microbatches: estimate.microbatches,
    timeS: {
      compute: round(time.compute, 6),
      tensorParallel: round(time.tensorParallel, 6),
      contextParallel: round(time.contextParallel, 6),
      expertParallel: round(time.expertParallel, 6),
      pipelineSends: round(time.pipelineSends, 6),
      bubble: round(time.bubble, 6),
      dataParallel: round(time.dataParallel, 6),
      optimizer: round(time.optimizer, 6),
      offload: round(time.offload, 6),
    },
    links: links(estimate).map((link) => ({ ...link, seconds: round(link.seconds, 6), perStepSeconds: round(link.perStepSeconds, 6) })),
  };
}

const pad = (text: string, width: number): string => text.padStart(width);
const gib = (bytes: number): string => (bytes / GiB).toFixed(1);

/** One line naming the plan: t, p, c, e, d, v, micro-batch, schedule, recomputation, ZeRO. */
export function describePlan(job: Job): string {
  const p = job.parallel;
  const cp = contextParallelDegree(p);
  const ep = expertParallelDegree(p);
  const context = cp > 1 ? ` c=${cp}` : '';
  const experts = (ep > 1 ? ` e=${ep}` : '') + (p.etp !== undefined && p.etp !== p.tp ? ` etp=${p.etp}` : '');
  const chunks = p.virtualStages > 1 ? ` v=${p.virtualStages}` : '';
  const split = p.layersPerStage === undefined ? '' : ` layers ${p.layersPerStage.join('/')}`;
  return `t=${p.tp} p=${p.pp}${context}${experts} d=${p.dp}${chunks} b=${p.microBatchSize} ${p.pp > 1 ? p.schedule : 'no pipeline'}${split}, ` +
    `recompute ${p.recompute}, ZeRO-${p.zero}${p.sequenceParallel && p.tp > 1 ? ', sequence parallel' : ''}` +
    (cp > 1 ? `, ${p.cpCommunication ?? 'ring'} context parallel` : '') +
    (p.optimizer === 'adam-8bit' ? ', 8-bit Adam' : '') +
    ((p.offload ?? 'none') === 'none' ? '' : p.offload === 'optimizer' ? ', optimizer offloaded to CPU' : ', optimizer and weights offloaded to CPU');
}

/** For a MoE model: its size, what one token uses, and the load the expert memory and time are sized for. */
function expertsLine(job: Job): string[] {
  const moe = moeOf(job.model);
  if (moe === undefined) return [];
  const billions = (count: number): string => `${(count / 1e9).toFixed(1)}B`;
  return [
    `experts: ${moe.experts} routed (top-${moe.expertsPerToken})${moe.sharedExperts > 0 ? ` + ${moe.sharedExperts} shared` : ''}, ` +
      `${billions(totalParameters(job.model))} parameters, ${billions(activeParameters(job.model))} active per token; ` +
      `${moe.experts / expertParallelDegree(job.parallel)} experts per GPU; expert activations and compute sized for ` +
      `${EXPERT_LOAD_FACTOR}× the mean load (routing imbalance headroom)`,
  ];
}

/** Each pipeline boundary: the ranks and groups it joins, what link it crosses, and what its messages cost. */
export function links(estimate: Estimate): { boundary: number; from: string; to: string; link: string; seconds: number; perStepSeconds: number }[] {
  const { job } = estimate;
  const { parallel, cluster } = job;
  const groups = parallel.stageGroups;
  const stage = parallel.tp * contextParallelDegree(parallel) * parallel.dp;
  const name = (rank: number): string => (cluster !== undefined && groups !== undefined ? cluster.groups[groups[rank]!]!.name : job.gpu.id);
  return estimate.boundarySeconds.map((seconds, boundary) => {
    const crossesGroups = groups !== undefined && groups[boundary] !== groups[boundary + 1];
    const gpu = crossesGroups || cluster === undefined || groups === undefined ? job.gpu : cluster.groups[groups[boundary]!]!.gpu;
    const stagesHere = groups === undefined ? parallel.pp : groups.filter((g) => g === groups[boundary]).length;
    const link = crossesGroups
      ? `the link between groups (${(cluster!.interGroupBandwidth / 1e9).toFixed(2)} GB/s shared by ${stage} GPUs)`
      : stagesHere * stage > gpu.gpusPerNode ? `the network (${(gpu.interNodeBandwidth / 1e9).toFixed(0)} GB/s per GPU)`
      : `NVLink (${(gpu.intraNodeBandwidth / 1e9).toFixed(0)} GB/s per GPU)`;
    // Each micro-batch crosses every boundary once each way per chunk.
    const perStep = seconds * 2 * parallel.virtualStages * estimate.microbatches;
    return { boundary, from: `rank ${boundary} (${name(boundary)})`, to: `rank ${boundary + 1} (${name(boundary + 1)})`, link, seconds, perStepSeconds: perStep };
  });
}

/** On a cluster of groups: the boundaries that cross the link between groups, with their cost; else nothing. */
function linkLines(estimate: Estimate): string[] {
  const { cluster, parallel } = estimate.job;
  if (cluster === undefined || parallel.stageGroups === undefined) return [];
  const groups = parallel.stageGroups;
  const lines = ['', 'pipeline over the groups'];
  cluster.groups.forEach((group, index) => {
    const ranks = groups.flatMap((g, rank) => (g === index ? [rank] : []));
    if (ranks.length === 0) return;
    const layers = ranks.map((rank) => parallel.layersPerStage?.[rank] ?? '?');
    lines.push(`  ${group.name} (${group.gpus} × ${group.gpu.id}): ranks ${ranks[0]}–${ranks[ranks.length - 1]}, layers ${layers.join('/')}`);
  });
  for (const link of links(estimate)) {
    if (!link.link.startsWith('the link between groups')) continue;
    lines.push(`  ${link.from} → ${link.to} crosses ${link.link}: ${(1000 * link.seconds).toFixed(1)} ms per message, ${link.perStepSeconds.toFixed(3)} s of messages per step`);
  }
  return lines;
}

/** With offloading: what each node's host memory must hold, and the state that moved there. */
function hostLines(estimate: Estimate): string[] {
  const { memory, job } = estimate;
  const offload = job.parallel.offload ?? 'none';
  if (offload === 'none') return [];
  const what = offload === 'optimizer'
    ? 'Adam states, fp32 master weights and a 16-bit gradient copy (ZeRO-Offload)'
    : 'Adam states, master weights, gradients and the 16-bit weights (ZeRO-3 offload)';
  return [
    `  host memory  ${pad(gib(memory.host), 8)} GiB per node of ${gib(memory.hostCapacity)} GiB: ${memory.host <= memory.hostCapacity ? 'fits' : 'DOES NOT FIT'}  (${what})`,
  ];
}

/** "64 × h100-sxm", or a cluster's groups: "64 × h100-sxm + 64 × a100-80gb". */
export const gpusName = (job: Job): string =>
  job.cluster === undefined ? `${job.gpus} × ${job.gpu.id}` : job.cluster.groups.map((group) => `${group.gpus} × ${group.gpu.id}`).join(' + ');

/** Which pipeline rank the memory figures are for. */
function worstRankName(estimate: Estimate): string {
  const { memory, job } = estimate;
  if (job.parallel.pp === 1) return 'every GPU holds the whole depth';
  if (memory.worstRank === 'middle') return `pipeline rank ${memory.worstRankIndex} of 0…${job.parallel.pp - 1}, the fullest`;
  return `${memory.worstRank} pipeline rank, the fullest`;
}

/** The human-readable estimate: plan, memory breakdown, time breakdown, throughput. */
export function formatEstimate(estimate: Estimate): string {
  const { job, memory, time } = estimate;
  const share = (seconds: number): string => `${seconds.toFixed(3).padStart(9)} s  ${pad((100 * seconds / time.step).toFixed(1), 5)}%`;
  return [
    `${job.model.name} on ${gpusName(job)} (${job.precision}), global batch ${job.parallel.globalBatchSize} × ${job.model.seqLength} tokens`,
    `plan: ${describePlan(job)}; ${estimate.microbatches} micro-batches per step`,
    ...expertsLine(job),
    '',
    `memory per GPU (${worstRankName(estimate)})`,
    `  weights      ${pad(gib(memory.weights), 8)} GiB`,
    `  gradients    ${pad(gib(memory.gradients), 8)} GiB`,
    `  optimizer    ${pad(gib(memory.optimizer), 8)} GiB`,
    `  activations  ${pad(gib(memory.activations), 8)} GiB`,
    `  headroom     ${pad(gib(memory.headroom), 8)} GiB  (workspaces 1 GiB + 10% fragmentation)`,
    `  total        ${pad(gib(memory.total), 8)} GiB  of ${gib(memory.capacity)} GiB: ${memory.total <= memory.capacity ? 'fits' : 'DOES NOT FIT'}`,
    ...hostLines(estimate),
    '',
    'time per step                 share of the step',
    `  compute          ${share(time.compute)}`,
    `  tensor-parallel  ${share(time.tensorParallel)}`,
    ...(contextParallelDegree(job.parallel) > 1 ? [`  context-parallel ${share(time.contextParallel)}`] : []),
    ...(expertParallelDegree(job.parallel) > 1 ? [`  expert-parallel  ${share(time.expertParallel)}`] : []),
    `  pipeline sends   ${share(time.pipelineSends)}`,
    `  bubble           ${share(time.bubble)}`,
    `  data-parallel    ${share(time.dataParallel)}`,
    `  optimizer        ${share(time.optimizer)}`,
    ...((job.parallel.offload ?? 'none') === 'none' ? [] : [`  offload          ${share(time.offload)}  (PCIe copies and Adam on the CPUs)`]),
    `  step             ${time.step.toFixed(3).padStart(9)} s`,
    ...linkLines(estimate),
    '',
    `throughput: ${Math.round(estimate.tokensPerS).toLocaleString('en-US')} tokens/s, ${estimate.tflopsPerGpu.toFixed(1)} TFLOP/s per GPU ` +
      `(with recomputation), MFU ${(100 * estimate.mfu).toFixed(1)}%` +
      (job.parallel.pp > 1
        ? `; the schedule idles ${(100 * estimate.bubbleFraction).toFixed(1)}% of the pipeline phase on its worst rank (the bubble fraction)`
        : ''),
  ].join('\n');
}

/** The ranked plans as a table with memory and time breakdowns. */
export function formatPlanTable(plans: readonly Estimate[]): string {
  const header = [
    '#', 'tp', 'pp', 'cp', 'ep', 'dp', 'v', 'mb', 'schedule', 'recompute', 'zero',
    'mem GiB', 'w+g+o', 'act', 'step s', 'compute', 'tp comm', 'cp+ep comm', 'bubble', 'dp comm', 'MFU', 'TFLOP/s',
  ];
  const rows = plans.map((e, i) => {
    const p = e.job.parallel;
    const m = e.memory;
    const t = e.time;
    return [
      `${i + 1}`, `${p.tp}`, `${p.pp}`, `${contextParallelDegree(p)}${p.cpCommunication === 'all-to-all' ? ' a2a' : ''}`,
      `${expertParallelDegree(p)}`, `${p.dp}`, `${p.virtualStages}`, `${p.microBatchSize}`, p.pp > 1 ? p.schedule : '-',
      p.recompute, `${p.zero}`, gib(m.total), gib(m.weights + m.gradients + m.optimizer), gib(m.activations),
      e.stepTimeS.toFixed(3), t.compute.toFixed(3), t.tensorParallel.toFixed(3), (t.contextParallel + t.expertParallel).toFixed(3),
      t.bubble.toFixed(3),
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
