import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { readWholeNumber } from '../../number-text.js';
import { quote } from '../../quote.js';
import {
  clusterGpus, engineSources, estimateJson, exportFiles, findGpu, formatExportFiles, gpusName, isExportEngine, unknownEngine,
  formatEstimate, formatPlanTable, noPlanError, parseCluster, parseJsonText, planForEngine, searchPlans,
  type Cluster, type Precision, type Recompute, type SearchRequest, type ZeroStage,
} from '../../planner/index.js';
import { readText, resolveModelOption } from '../job-source.js';
import { userGpus, type PlannerOptions } from './estimate.js';

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

const positiveInteger = (flag: string, text: string): number => readWholeNumber(flag, text, 1);

const integerList = (flag: string, text: string | undefined): number[] | undefined =>
  text?.split(',').map((item) => positiveInteger(flag, item));

function choiceList<T extends string | number>(flag: string, text: string | undefined, allowed: readonly T[]): T[] | undefined {
  return text?.split(',').map((item) => {
    const match = allowed.find((choice) => `${choice}` === item.trim());
    if (match === undefined) throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (or several, comma-separated), got ${quote(item)}`);
    return match;
  });
}

/** One of `allowed` (a list would be read as its first item in silence). */
function choice<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  const match = allowed.find((item) => item === text.trim());
  if (match === undefined) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got ${quote(text)}`);
  return match;
}

function searchRequest(options: PlanOptions): SearchRequest {
  const precision = choice<Precision>('--precision', options.precision, ['bf16', 'fp16', 'fp8']);
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
    model: resolveModelOption(options.model, options.seqLen),
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
  const text = readText(path, 'cluster file: a JSON file of GPU groups, { "groups": [{ "gpu", "gpus", "nodes"? }], "interGroupBandwidthGBs" }');
  return parseCluster(parseJsonText(text, `cluster file ${path}`), path, userGpus(options));
}

/** The fastest plan the engine runs, as its files; with --json, the plan, what it gave up and the files as JSON. */
function writeExport(options: PlanOptions, engine: string): void {
  if (!isExportEngine(engine)) throw unknownEngine(engine);
  const choice = planForEngine(searchRequest(options), engine);
  const notes = choice.givenUp.length === 0 ? ['the fastest plan of all runs on this engine as it is'] : choice.givenUp.map((line) => `gave up: ${line}`);
  const files = exportFiles(choice.chosen.job, engine, notes);
  if (options.json) {
    const body = {
      engine, checkedAgainst: engineSources[engine], considered: choice.considered, feasible: choice.feasible,
      plan: estimateJson(choice.chosen), fastest: estimateJson(choice.fastest), givenUp: choice.givenUp, files,
    };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return;
  }
  process.stdout.write(formatExportFiles(files));
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('Search t, p, c, e, d, chunks, micro-batch, schedule, recomputation and ZeRO; rank the plans that fit by step time.')
    .requiredOption('--model <id|file.json>', 'a preset (e.g. llama3-70b, mixtral-8x7b), a Hugging Face config.json or a JSON model shape')
    .option('--gpu <id>', 'a100-40gb, a100-80gb, h100-sxm, h200, b200, mi300x, or one from --hardware')
    .option('--gpus <n>', 'GPUs in the cluster')
    .option('--cluster <file>', 'groups of GPUs joined by a link: { "groups": [{ "gpu", "gpus", "nodes"? }], "interGroupBandwidthGBs" }')
    .requiredOption('--global-batch <n>', 'sequences per optimizer step')
    .option('--seq-len <n>', 'sequence length (default: the model preset\'s)')
    .option('--top <n>', 'how many plans to show', '5')
    .option('--json', 'print the plans as JSON (with --export: the engine\'s plan, what it gave up and its files)')
    .option('--export <engine>', 'print the fastest plan the engine runs, as its files: megatron, deepspeed, torchtitan, torchtitan-toml')
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
      process.stdout.write(
        `${request.model.name} on ${gpusName(result.plans[0]!.job)}, global batch ${request.globalBatchSize} × ` +
          `${request.model.seqLength} tokens: ${result.feasible} of ${result.considered} configurations fit\n\n${lean}` +
          `${formatPlanTable(result.plans)}\n\nbest:\n${formatEstimate(result.plans[0]!)}\n`,
      );
    });
}
