/**
 * The SVG Gantt chart: one lane per rank on a shared time axis, a box per action coloured by kind with its
 * micro-batch number inside, idle time left as the bare lane, a legend, and the rank's bubble and peak stash
 * at the end of its lane. Later chunks of an interleaved rank are drawn lighter. Communication that takes
 * time is drawn in a thin strip under its rank's lane. Options draw several timelines on one time scale, or
 * the step as it stands at one moment (for animating it).
 */
import { formatAction, type ActionKind, type CommKind, type Schedule, type Timeline } from '../schedule/index.js';
import { activityAt, commNames, computeEvents, kindNames, percent, shortNumber, title, visibleComm } from './summary.js';

const kindColours: Record<ActionKind, string> = { F: '#3b6ea5', B: '#c8423f', I: '#e08a1e', W: '#3f8f4a' };
const commColours: Record<CommKind, string> = {
  SEND_F: '#8a8a8a', SEND_B: '#8a8a8a', RECV_F: '#d6b4b4', RECV_B: '#d6b4b4', RECV_TIED: '#d6b4b4',
  SEND_TIED: '#b08a2e', REDUCE_GRAD: '#7b5ea7',
};
const commLegend: [string, string][] = [
  ['#8a8a8a', 'sending'], ['#d6b4b4', 'waiting for a message'], ['#b08a2e', 'tied gradient'], ['#7b5ea7', 'reducing'],
];
const commHeight = 8;
const plotWidth = 960;
const left = 72;
const right = 200;
const top = 64;
const laneHeight = 28;
const laneGap = 8;
const axisHeight = 44;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Mixes `hex` toward white by `amount` in [0, 1]. */
function lighten(hex: string, amount: number): string {
  const channel = (offset: number): string => {
    const value = parseInt(hex.slice(offset, offset + 2), 16);
    return Math.round(value + (255 - value) * amount)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${channel(1)}${channel(3)}${channel(5)}`;
}

/** A round tick step giving about `count` ticks over `span`. */
function tickStep(span: number, count: number): number {
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= raw)!;
  return step;
}

/** chunkIndex[stage]: which of its rank's stages this is (0 for the first), for shading. */
function chunkIndices(schedule: Schedule): { index: number[]; perRank: number[] } {
  const perRank = new Array<number>(schedule.ranks).fill(0);
  const index = schedule.placement.map((rank) => perRank[rank]!++);
  return { index, perRank };
}

export interface SvgOptions {
  /** Seconds the time axis covers (default and at least the makespan): equal spans put charts on one scale. */
  readonly span?: number;
  /** Draw the step as it stands at this time: later actions absent, a cursor, and each idle rank says so. */
  readonly now?: number;
}

export function drawSvg(schedule: Schedule, timeline: Timeline, options: SvgOptions = {}): string {
  const span = Math.max(options.span ?? 0, timeline.makespan) || 1;
  const now = options.now ?? Infinity;
  const scale = plotWidth / span; // pixels per second
  const comm = visibleComm(timeline);
  const strip = comm.length > 0 ? commHeight + 2 : 0;
  const height = top + schedule.ranks * (laneHeight + strip + laneGap) + axisHeight;
  const width = left + plotWidth + right;
  const laneY = (rank: number): number => top + rank * (laneHeight + strip + laneGap);
  const chunks = chunkIndices(schedule);
  const heading = escapeXml(title(schedule, timeline));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" role="img" aria-label="${heading}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold" fill="#222">${heading}</text>`,
  ];

  let legendX = left;
  const compute = computeEvents(timeline);
  const kindsPresent = new Set<string>(compute.map((event) => event.action.kind));
  for (const kind of (['F', 'B', 'I', 'W'] as const).filter((k) => kindsPresent.has(k))) {
    const label = `${kind} ${kindNames[kind]}`;
    parts.push(`<rect x="${legendX}" y="34" width="12" height="12" fill="${kindColours[kind]}"/>`);
    parts.push(`<text x="${legendX + 16}" y="44" font-size="12" fill="#333">${label}</text>`);
    legendX += 26 + label.length * 6.5;
  }
  const commKinds = new Set(comm.map((event) => commColours[event.action.kind as CommKind]));
  for (const [colour, label] of commLegend.filter(([colour]) => commKinds.has(colour))) {
    parts.push(`<rect x="${legendX}" y="38" width="12" height="6" fill="${colour}"/>`);
    parts.push(`<text x="${legendX + 16}" y="44" font-size="12" fill="#333">${label}</text>`);
    legendX += 26 + label.length * 6.5;
  }
  const idleNote = chunks.perRank.some((count) => count > 1) ? 'empty lane = idle · lighter = later chunk' : 'empty lane = idle';
  parts.push(`<text x="${legendX}" y="44" font-size="12" fill="#666">${idleNote} · numbers are micro-batches</text>`);

  for (let rank = 0; rank < schedule.ranks; rank++) {
    const y = laneY(rank);
    parts.push(`<rect x="${left}" y="${y}" width="${plotWidth}" height="${laneHeight}" fill="#eeeeee"/>`);
    parts.push(`<text x="${left - 10}" y="${y + laneHeight / 2 + 4}" font-size="13" text-anchor="end" fill="#222">rank ${rank}</text>`);
    const summary = `bubble ${percent(timeline.bubbleFraction[rank]!)} · peak ${shortNumber(timeline.peakActivations[rank]!)}`;
    parts.push(`<text x="${left + plotWidth + 10}" y="${y + laneHeight / 2 + 4}" font-size="12" fill="#333">${summary}</text>`);
  }

  for (const event of comm) {
    if (event.start >= now) continue;
    const x = left + event.start * scale;
    const boxWidth = (Math.min(event.end, now) - event.start) * scale;
    const kind = event.action.kind as CommKind;
    const name = formatAction(event.action);
    parts.push(
      `<rect x="${x.toFixed(2)}" y="${laneY(event.rank) + laneHeight + 1}" width="${boxWidth.toFixed(2)}" height="${commHeight}" fill="${commColours[kind]}"><title>${name} ${commNames[kind]}: ${shortNumber(event.start)}–${shortNumber(event.end)} s</title></rect>`,
    );
  }

  for (const event of compute) {
    if (event.start >= now) continue;
    const { kind, stage, microbatch } = event.action;
    const x = left + event.start * scale;
    const boxWidth = (Math.min(event.end, now) - event.start) * scale;
    const shade = chunks.perRank[event.rank]! > 1 ? (chunks.index[stage]! / chunks.perRank[event.rank]!) * 0.5 : 0;
    const y = laneY(event.rank);
    const name = `${stage}${kind}${microbatch}`;
    parts.push(
      `<rect x="${x.toFixed(2)}" y="${y}" width="${boxWidth.toFixed(2)}" height="${laneHeight}" fill="${lighten(kindColours[kind], shade)}" stroke="#ffffff" stroke-width="${Math.min(1, boxWidth / 6).toFixed(2)}"><title>${name} ${kindNames[kind]}, stage ${stage}, micro-batch ${microbatch}: ${shortNumber(event.start)}–${shortNumber(event.end)} s</title></rect>`,
    );
    const label = String(microbatch);
    if (boxWidth >= label.length * 7 + 4) {
      parts.push(
        `<text x="${(x + boxWidth / 2).toFixed(2)}" y="${y + laneHeight / 2 + 4}" font-size="11" text-anchor="middle" fill="#ffffff">${label}</text>`,
      );
    }
  }

  if (Number.isFinite(now)) {
    const x = left + Math.min(now, span) * scale;
    parts.push(`<line x1="${x.toFixed(2)}" y1="${top - 6}" x2="${x.toFixed(2)}" y2="${laneY(schedule.ranks)}" stroke="#222" stroke-width="1.5"/>`);
    for (let rank = 0; rank < schedule.ranks; rank++) {
      const state = activityAt(timeline, rank, now);
      if (typeof state !== 'string') continue;
      parts.push(`<text x="${(x + 5).toFixed(2)}" y="${laneY(rank) + laneHeight / 2 + 4}" font-size="12" font-style="italic" fill="#555">${state}</text>`);
    }
  }

  const axisY = laneY(schedule.ranks) + 4;
  parts.push(`<line x1="${left}" y1="${axisY}" x2="${left + plotWidth}" y2="${axisY}" stroke="#888"/>`);
  const step = tickStep(span, 8);
  for (let tick = 0; tick <= span + step * 1e-9; tick += step) {
    const x = left + tick * scale;
    parts.push(`<line x1="${x.toFixed(2)}" y1="${axisY}" x2="${x.toFixed(2)}" y2="${axisY + 5}" stroke="#888"/>`);
    parts.push(`<text x="${x.toFixed(2)}" y="${axisY + 18}" font-size="11" text-anchor="middle" fill="#555">${shortNumber(tick)}</text>`);
  }
  parts.push(`<text x="${left + plotWidth}" y="${axisY + 30}" font-size="11" text-anchor="end" fill="#555">time (s)</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
