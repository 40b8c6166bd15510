import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import {
  estimateJson, exportLimits, gpusName, exportPlan, findGpu, isExportEngine, unknownEngine, findPreset, formatEstimate, formatPlanTable, noPlanError, parseModel, searchPlans,
  type ModelShape, type Precision, type Recompute, type SearchRequest, type ZeroStage,
} from '../../planner/index.js';
import { userGpus, type PlannerOptions } from './estimate.js';
import { clusterGpus, parseCluster, type Cluster } from '../../planner/index.js';

interface PlanOptions extends PlannerOptions {
  readonly model: string;
  readonly gpu?: string;
  readonly gpus?: string;
  readonly cluster?: string;
  readonly globalBatch: string;
  readonly seqLen?: string;
  readonly top: string;
  readonly precision: string;
  readonly tp?: string;
  readonly pp?: string;
  readonly cp?: string;
  readonly ep?: string;
  readonly etp?: string;
  readonly schedule?: string;
  readonly recompute?: string;
  readonly zero?: string;
  readonly maxMicroBatch: string;
  readonly flashAttention: boolean;
  readonly fp32Gradients?: boolean;
  readonly tpCommOverlap?: boolean;
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(value) || value < 1) {
    throw new UsageError(`${flag} must be a positive integer, got '${text}'`);
  }
  return value;
}

const integerList = (flag: string, text: string | undefined): number[] | undefined =>
  text?.split(',').map((item) => positiveInteger(flag, item));

function choiceList<T extends string | number>(flag: string, text: string | undefined, allowed: readonly T[]): T[] | undefined {
  return text?.split(',').map((item) => {
    const match = allowed.find((choice) => `${choice}` === item.trim());
    if (match === undefined) throw new UsageError(`${flag} takes ${allowed.join(', ')} (comma-separated), got '${item}'`);
    return match;
  });
}

/** A preset id, or a path to a JSON model shape. */
function resolveModel(text: string, seqLen: string | undefined): ModelShape {
  let model: ModelShape;
  if (text.endsWith('.json')) {
    let body: string;
    try {
      body = readFileSync(text, 'utf8');
    } catch {
      throw new UsageError(`cannot read model file ${text}; give a preset id or a JSON model shape`);
    }
    model = parseModel(body, text);
  } else {
    model = findPreset(text);
  }
  return seqLen === undefined ? model : { ...model, seqLength: positiveInteger('--seq-len', seqLen) };
}

function searchRequest(options: PlanOptions): SearchRequest {
  const precision = choiceList<Precision>('--precision', options.precision, ['bf16', 'fp16', 'fp8'])![0]!;
  const zero = choiceList<ZeroStage>('--zero', options.zero, [0, 1, 2, 3]);
  const recompute = choiceList<Recompute>('--recompute', options.recompute, ['none', 'selective', 'full']);
  const tp = integerList('--tp', options.tp);
  const pp = integerList('--pp', options.pp);
  const cp = integerList('--cp', options.cp);
  const ep = integerList('--ep', options.ep);
  const etp = integerList('--etp', options.etp);
  const cluster = options.cluster === undefined ? undefined : readCluster(options.cluster, options);
  if (cluster === undefined && (options.gpu === undefined || options.gpus === undefined)) {
    throw new UsageError('plan needs --gpu and --gpus, or --cluster FILE for groups of GPUs');
  }
  if (cluster !== undefined && (options.gpu !== undefined || options.gpus !== undefined)) {
    throw new UsageError('--cluster names the GPUs of every group; leave out --gpu and --gpus');
  }
  return {
    model: resolveModel(options.model, options.seqLen),
    gpu: cluster?.groups[0]!.gpu ?? findGpu(options.gpu!, userGpus(options)),
    gpus: cluster === undefined ? positiveInteger('--gpus', options.gpus!) : clusterGpus(cluster),
    ...(cluster === undefined ? {} : { cluster }),
    globalBatchSize: positiveInteger('--global-batch', options.globalBatch),
    precision,
    fp32Gradients: options.fp32Gradients,
    flashAttention: options.flashAttention,
    tpCommOverlap: options.tpCommOverlap ?? false,
    maxMicroBatchSize: positiveInteger('--max-micro-batch', options.maxMicroBatch),
    top: positiveInteger('--top', options.top),
    ...(tp === undefined ? {} : { tp }),
    ...(pp === undefined ? {} : { pp }),
    ...(cp === undefined ? {} : { cp }),
    ...(ep === undefined ? {} : { ep }),
    ...(etp === undefined ? {} : { etp }),
    ...(zero === undefined ? {} : { zero }),
    ...(recompute === undefined ? {} : { recompute }),
    ...(options.schedule === undefined ? {} : { schedules: options.schedule.split(',').map((name) => name.trim()) }),
  };
}

/** Reads a --cluster file: groups of GPUs and the link between them (parsed by the planner, read here). */
function readCluster(path: string, options: PlanOptions): Cluster {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(
      error instanceof SyntaxError ? `cluster file ${path} is not valid JSON: ${error.message}` : `cannot read cluster file ${path}; give the path of a JSON file of GPU groups`,
    );
  }
  return parseCluster(json, path, userGpus(options));
}

/** Only what `values` and the engine's `limits` both allow; an empty intersection is the user's mistake. */
function within<T>(flag: string, values: readonly T[] | undefined, limits: readonly T[], engine: string): T[] {
  const allowed = values === undefined ? [...limits] : values.filter((value) => limits.includes(value));
  if (allowed.length === 0) throw new UsageError(`${engine} supports ${flag} ${limits.join(',')} only`);
  return allowed;
}

/** Searches within what the engine runs and prints the fastest plan that exports cleanly. */
function writeExport(options: PlanOptions, engine: string): void {
  if (!isExportEngine(engine)) throw unknownEngine(engine);
  const limits = exportLimits[engine];
  const base = searchRequest(options);
  const request: SearchRequest = {
    ...base,
    top: 50,
    schedules: within('--schedule', base.schedules, limits.schedules, engine),
    zero: within('--zero', base.zero, limits.zero, engine),
    recompute: within('--recompute', base.recompute, limits.recompute, engine),
  };
  const result = searchPlans(request);
  if (result.plans.length === 0) throw noPlanError(request, result);
  for (const plan of result.plans) {
    try {
      process.stdout.write(exportPlan(plan.job, engine));
      return;
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
    }
  }
  throw new UsageError(`none of the ${result.plans.length} fastest plans can run on ${engine}; narrow the search with --tp, --pp or --zero`);
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('Search t, p, c, e, d, chunks, micro-batch, schedule, recomputation and ZeRO; rank the plans that fit by step time.')
    .requiredOption('--model <id|file.json>', 'a preset (e.g. llama3-70b, mixtral-8x7b) or a JSON model shape')
    .option('--gpu <id>', 'a100-40gb, a100-80gb, h100-sxm, h200, b200, mi300x, or one from --hardware')
    .option('--gpus <n>', 'GPUs in the cluster')
    .option('--cluster <file>', 'groups of GPUs joined by a link: { "groups": [{ "gpu", "gpus", "nodes"? }], "interGroupBandwidthGBs" }')
    .requiredOption('--global-batch <n>', 'sequences per optimizer step')
    .option('--seq-len <n>', 'sequence length (default: the model preset\'s)')
    .option('--top <n>', 'how many plans to show', '5')
    .option('--json', 'print the plans as JSON')
    .option('--export <engine>', 'print the best plan for megatron, deepspeed or torchtitan instead')
    .option('--hardware <file>', 'JSON file describing GPUs not in the catalogue')
    .option('--precision <p>', 'bf16, fp16 or fp8', 'bf16')
    .option('--tp <list>', 'only these tensor-parallel degrees, e.g. 4,8')
    .option('--pp <list>', 'only these pipeline-parallel degrees')
    .option('--cp <list>', 'only these context-parallel degrees (sequence split over GPUs)')
    .option('--ep <list>', 'only these expert-parallel degrees (MoE models)')
    .option('--etp <list>', 'only these expert tensor-parallel degrees (MoE models; default tp and 1)')
    .option('--schedule <list>', 'only these schedules, e.g. 1f1b,interleaved-1f1b')
    .option('--recompute <list>', 'only these recomputation modes: none, selective, full')
    .option('--zero <list>', 'only these ZeRO stages: 0, 1, 2, 3')
    .option('--max-micro-batch <n>', 'largest micro-batch size to try', '16')
    .option('--tp-comm-overlap', 'tensor-parallel collectives run under the GEMMs (Megatron --tp-comm-overlap)')
    .option('--no-flash-attention', 'attention that materialises the s×s scores (as before flash attention)')
    .option('--fp32-gradients', 'keep and reduce gradients in fp32 (18 bytes per parameter; the default for bf16 and fp8)')
    .option('--no-fp32-gradients', 'keep and reduce gradients in 16 bits (16 bytes per parameter; the default for fp16)')
    .action((options: PlanOptions) => {
      if (options.export !== undefined) {
        writeExport(options, options.export);
        return;
      }
      const request = searchRequest(options);
      const result = searchPlans(request);
      if (result.plans.length === 0) throw noPlanError(request, result);
      if (options.json) {
        const body = {
          considered: result.considered, feasible: result.feasible, offloaded: result.offloaded, plans: result.plans.map(estimateJson),
        };
        process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
        return;
      }
      const lean = result.offloaded
        ? 'nothing fits with all training state on the GPUs; these plans keep Adam in 8 bits or move state to host memory, ' +
          'at the cost below (host memory per node and the PCIe and CPU time per step). Fine-tuning with LoRA-style ' +
          'adapters would be a different job.\n\n'
        : '';
      const where = result.plans[0] === undefined ? '' : gpusName(result.plans[0].job);
      process.stdout.write(
        `${request.model.name} on ${where}, global batch ${request.globalBatchSize} × ` +
          `${request.model.seqLength} tokens: ${result.feasible} of ${result.considered} configurations fit\n\n${lean}` +
          `${formatPlanTable(result.plans)}\n\nbest:\n${formatEstimate(result.plans[0]!)}\n`,
      );
    });
}
