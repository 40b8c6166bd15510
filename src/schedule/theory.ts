/**
 * The closed-form bubble and stash of the built-in schedules, to show theory beside a simulation. Each holds
 * with the same cost on every rank, free messages, and the conditions it names; `test/schedule/theory-formulas`
 * checks every formula against the simulator wherever its conditions hold.
 */
import type { RankDurations } from './costs.js';

export interface TheorySizes {
  readonly ranks: number;
  readonly microbatches: number;
  /** Chunks per rank (interleaved-1f1b, zb-v). */
  readonly chunks: number;
}

export interface Theory {
  /** The bubble fraction of every rank, written in p (ranks), m (micro-batches), v (chunks) and F, B, I, W. */
  readonly bubbleFormula: string;
  /** Peak stash per rank r, in micro-batches' worth of the rank's share. */
  readonly peakFormula: string;
  /** What the formulas need beyond uniform costs and free messages. */
  readonly conditions: string;
  /** The bubble fraction the formula gives, or undefined where its conditions do not hold. */
  readonly bubble: number | undefined;
  /** [ranks] the peak stash the formula gives, or undefined where its conditions do not hold. */
  readonly peak: readonly number[] | undefined;
  /**
   * Where the published formula counts rank 0's idle seconds between its first and its last action (the
   * ramp before and after is left out) instead of a fraction of the makespan: that formula and its value.
   */
  readonly firstRankIdle?: { readonly formula: string; readonly seconds: number | undefined };
  readonly source: string;
}

/** Idle time `idle` of a rank that computes `busy`: the fraction of the makespan spent idle. */
const fraction = (idle: number, busy: number): number => (idle + busy > 0 ? idle / (idle + busy) : 0);

const perRank = (ranks: number, value: (rank: number) => number): number[] => Array.from({ length: ranks }, (_, rank) => value(rank));

/** The formulas for a built-in schedule, or undefined for a schedule with no closed form here. */
export function scheduleTheory(name: string, sizes: TheorySizes, costs: RankDurations): Theory | undefined {
  const { ranks: p, microbatches: m, chunks: v } = sizes;
  const { F, B, I, W } = costs;
  switch (name) {
    case 'naive':
      return {
        bubbleFormula: '(p−1)/p',
        peakFormula: '1',
        conditions: 'none',
        bubble: (p - 1) / p,
        peak: perRank(p, () => 1),
        source: 'one rank works at a time',
      };
    case 'gpipe':
      return {
        bubbleFormula: '(p−1)/(m+p−1)',
        peakFormula: 'm',
        conditions: 'none',
        bubble: (p - 1) / (m + p - 1),
        peak: perRank(p, () => m),
        source: 'Huang et al. 2019 (GPipe)',
      };
    case '1f1b':
      return {
        bubbleFormula: '(p−1)/(m+p−1)',
        peakFormula: 'min(p−r, m)',
        conditions: 'none',
        bubble: (p - 1) / (m + p - 1),
        peak: perRank(p, (r) => Math.min(p - r, m)),
        source: 'Narayanan et al. 2021 (PipeDream-Flush)',
      };
    case 'interleaved-1f1b': {
      const holds = m % p === 0;
      return {
        bubbleFormula: '(p−1)/(v·m+p−1)',
        peakFormula: 'min(2(p−r−1)+(v−1)p+1, v·m)/v',
        conditions: 'p divides m',
        bubble: holds ? (p - 1) / (v * m + p - 1) : undefined,
        peak: holds ? perRank(p, (r) => Math.min(2 * (p - r - 1) + (v - 1) * p + 1, v * m) / v) : undefined,
        source: 'Narayanan et al. 2021, section 2.2 (interleaved stages)',
      };
    }
    case 'zb-h1': {
      const holds = m >= p && W <= F && W <= I;
      return {
        bubbleFormula: '(p−1)(F+I−W) / (m(F+I+W) + (p−1)(F+I−W))',
        peakFormula: 'p',
        conditions: 'm ≥ p, W ≤ F and W ≤ I',
        bubble: holds ? fraction((p - 1) * (F + I - W), m * (F + I + W)) : undefined,
        peak: m >= p ? perRank(p, () => p) : undefined,
        source: 'Qi et al. 2024 (Zero Bubble), ZB-H1',
      };
    }
    case 'zb-v': {
      const holds = m >= 2 * p && F === I && I === W;
      return {
        bubbleFormula: '(p−1)/(6m+p−1)',
        peakFormula: 'p',
        conditions: 'm ≥ 2p and F = I = W',
        bubble: holds ? (p - 1) / (6 * m + p - 1) : undefined,
        peak: m >= 2 * p ? perRank(p, () => p) : undefined,
        source: 'Qi et al. 2024 (Zero Bubble), ZB-V; idle (p−1)·F/2, as the ranks start one chunk forward apart',
      };
    }
    case 'zb-h2': {
      const holds = m >= 2 * p && W <= F && W <= I;
      return {
        bubbleFormula: 'no closed form for the fraction',
        peakFormula: 'min(2p−1, m)',
        conditions: 'm ≥ 2p, W ≤ F and W ≤ I',
        bubble: undefined,
        peak: perRank(p, () => Math.min(2 * p - 1, m)),
        firstRankIdle: { formula: '(p−1)(F+I−2W)', seconds: holds ? (p - 1) * (F + I - 2 * W) : undefined },
        source: 'Qi et al. 2024 (Zero Bubble), ZB-H2, table 1',
      };
    }
    case 'dualpipe-v': {
      // The DualPipe table's chunk costs are half a rank's: (PP/2−1)(F&B + B − 3W) with PP = 2p and F&B = F + B.
      const holds = m >= 2 * p && I === F && W <= F;
      return {
        bubbleFormula: 'no closed form for the fraction',
        peakFormula: '(2p+1)/2',
        conditions: 'm ≥ 2p, I = F and W ≤ F',
        bubble: undefined,
        peak: m >= 2 * p ? perRank(p, () => (2 * p + 1) / 2) : undefined,
        firstRankIdle: { formula: '(p−1)(F+2B−3W)/2', seconds: holds ? ((p - 1) * (F + 2 * B - 3 * W)) / 2 : undefined },
        source: 'DeepSeek-AI 2024 (DeepSeek-V3, DualPipe table), as PyTorch ScheduleDualPipeV lays it out',
      };
    }
    default:
      return undefined;
  }
}
