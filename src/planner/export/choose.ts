import { UsageError } from '../../errors.js';
import type { Estimate } from '../estimate.js';
import { noPlanError } from '../infeasible.js';
import type { Recompute } from '../plan.js';
import { describePlan } from '../report.js';
import { searchPlans, type SearchRequest } from '../search.js';
import { engineRefusals, torchSchedules } from './refusals.js';
import type { ExportEngine } from './sources.js';

/** A part of the search space an engine runs; the search is run once per part and the results merged. */
type SearchPart = Pick<SearchRequest, 'tp' | 'pp' | 'cp' | 'ep' | 'schedules' | 'recompute' | 'zero' | 'sequenceParallel' | 'fp32Gradients'>;

const fullOrNone: readonly Recompute[] = ['none', 'full'];

/** What each engine can run, as parts of the search space (its refusals then drop what the parts still let in). */
function searchParts(engine: ExportEngine): SearchPart[] {
  switch (engine) {
    case 'megatron':
      return [{ schedules: ['1f1b', 'interleaved-1f1b'] }];
    case 'deepspeed':
      return [
        // AutoTP without a pipeline, any ZeRO stage; fp32 gradient accumulation needs ZeRO.
        { pp: [1], cp: [1], ep: [1], sequenceParallel: false, zero: [1, 2, 3], recompute: fullOrNone },
        { pp: [1], cp: [1], ep: [1], sequenceParallel: false, zero: [0], fp32Gradients: false, recompute: fullOrNone },
        // The pipeline engine without tensor parallelism, ZeRO 0 or 1.
        { tp: [1], cp: [1], ep: [1], schedules: ['1f1b'], zero: [1], recompute: fullOrNone },
        { tp: [1], cp: [1], ep: [1], schedules: ['1f1b'], zero: [0], fp32Gradients: false, recompute: fullOrNone },
      ];
    case 'torchtitan':
      return [{ schedules: Object.keys(torchSchedules), zero: [0, 2, 3], recompute: fullOrNone, fp32Gradients: true }];
    case 'torchtitan-toml':
      return [
        { schedules: Object.keys(torchSchedules), zero: [2, 3], recompute: fullOrNone, fp32Gradients: true },
        { tp: [1], pp: [1], zero: [0], recompute: fullOrNone, fp32Gradients: true },
      ];
  }
}

/** The precision an engine trains in when asked for one it lacks, with the reason. */
function enginePrecision(engine: ExportEngine, request: SearchRequest): { precision: SearchRequest['precision']; note?: string } {
  const precision = request.precision ?? 'bf16';
  if (engine === 'deepspeed' && precision === 'fp8') return { precision: 'bf16', note: 'trained in bf16: DeepSpeed\'s configuration has no fp8 training setting' };
  if (engine.startsWith('torchtitan') && precision === 'fp16') return { precision: 'bf16', note: 'trained in bf16: torchtitan has no fp16 training' };
  return { precision };
}

/** Both lists' common values; absent means "any". Undefined when they share none. */
function within<T>(asked: readonly T[] | undefined, allowed: readonly T[] | undefined): readonly T[] | undefined | null {
  if (asked === undefined) return allowed;
  if (allowed === undefined) return asked;
  const both = asked.filter((value) => allowed.includes(value));
  return both.length === 0 ? null : both;
}

/** The request narrowed to one part of an engine's space; null when the user's own restrictions exclude it. */
function narrowed(request: SearchRequest, part: SearchPart): SearchRequest | null {
  const tp = within(request.tp, part.tp);
  const pp = within(request.pp, part.pp);
  const cp = within(request.cp, part.cp);
  const ep = within(request.ep, part.ep);
  const schedules = within(request.schedules, part.schedules);
  const recompute = within(request.recompute, part.recompute);
  const zero = within(request.zero, part.zero);
  if (tp === null || pp === null || cp === null || ep === null || schedules === null || recompute === null || zero === null) return null;
  return {
    ...request,
    top: 50,
    ...(tp === undefined ? {} : { tp }),
    ...(pp === undefined ? {} : { pp }),
    ...(cp === undefined ? {} : { cp }),
    ...(ep === undefined ? {} : { ep }),
    ...(schedules === undefined ? {} : { schedules }),
    ...(recompute === undefined ? {} : { recompute }),
    ...(zero === undefined ? {} : { zero }),
    ...(part.sequenceParallel === undefined ? {} : { sequenceParallel: part.sequenceParallel }),
    ...(part.fp32Gradients === undefined ? {} : { fp32Gradients: part.fp32Gradients }),
  };
}

/** The fastest plan an engine runs, beside the fastest plan of all, and what choosing it gave up. */
export interface EngineChoice {
  readonly engine: ExportEngine;
  readonly chosen: Estimate;
  readonly fastest: Estimate;
  /** What the engine's plan gives up against the fastest plan, in sentences; empty when they are the same. */
  readonly givenUp: readonly string[];
  readonly considered: number;
  readonly feasible: number;
}

const sameConfiguration = (a: Estimate, b: Estimate): boolean =>
  JSON.stringify(a.job.parallel) === JSON.stringify(b.job.parallel) && a.job.precision === b.job.precision && a.job.fp32Gradients === b.job.fp32Gradients;

/** Searches the whole space and each part the engine runs; returns the fastest plan the engine accepts. */
export function planForEngine(request: SearchRequest, engine: ExportEngine): EngineChoice {
  const all = searchPlans({ ...request, top: 1 });
  if (all.plans.length === 0) throw noPlanError(request, all);
  const fastest = all.plans[0]!;
  const { precision, note } = enginePrecision(engine, request);
  const runnable: Estimate[] = [];
  for (const part of searchParts(engine)) {
    const partRequest = narrowed({ ...request, precision }, part);
    if (partRequest === null) continue;
    for (const plan of searchPlans(partRequest).plans) if (engineRefusals(engine, plan.job).length === 0) runnable.push(plan);
  }
  runnable.sort((a, b) => a.stepTimeS - b.stepTimeS);
  const chosen = runnable[0];
  if (chosen === undefined) {
    throw new UsageError(
      `no plan that ${engine} runs fits ${request.model.name} on ${request.gpus} × ${request.gpu.id}; the fastest plan ` +
        `(${describePlan(fastest.job)}) needs what ${engine} lacks: ${engineRefusals(engine, fastest.job).join('; ') || 'a setting outside its search'}`,
    );
  }
  const givenUp: string[] = [];
  if (note !== undefined) givenUp.push(note);
  if (chosen.job.fp32Gradients !== fastest.job.fp32Gradients) {
    givenUp.push(`gradients in ${chosen.job.fp32Gradients ? 'fp32' : '16 bits'}: ${engine === 'deepspeed' ? 'DeepSpeed accumulates in fp32 only under ZeRO' : 'the engine reduces gradients in fp32'}`);
  }
  if (!sameConfiguration(chosen, fastest)) {
    const change = chosen.stepTimeS / fastest.stepTimeS - 1;
    const reasons = engineRefusals(engine, fastest.job);
    givenUp.push(
      `${(100 * Math.abs(change)).toFixed(1)}% ${change >= 0 ? 'slower' : 'faster'} than the fastest plan, ` +
        `${describePlan(fastest.job)} at ${fastest.stepTimeS.toFixed(2)} s per step` +
        (reasons.length > 0 ? `, which ${engine} cannot run: ${reasons.join('; ')}` : ''),
    );
  }
  return { engine, chosen, fastest, givenUp, considered: all.considered, feasible: all.feasible };
}
