import { positiveCount, type ImportedJob } from './imported.js';
import { flagValues, shellStatements } from './shell-words.js';

/** Megatron-FSDP's sharding strategies as ZeRO stages. */
const fsdpStages: Readonly<Record<string, 1 | 2 | 3>> = { optim: 1, optim_grads: 2, optim_grads_params: 3 };

/** The environment a script sets before it launches: `export NAME=VALUE`, `NAME=VALUE command`, `unset NAME`. */
function environment(statements: readonly (readonly string[])[]): Map<string, string | undefined> {
  const found = new Map<string, string | undefined>();
  for (const words of statements) {
    const assignments = words[0] === 'export' ? words.slice(1) : words;
    if (words[0] === 'unset') for (const name of words.slice(1)) found.set(name, undefined);
    for (const word of assignments) {
      const match = /^([A-Za-z_]\w*)=(.*)$/.exec(word);
      if (match === null) break;
      found.set(match[1]!, match[2]!);
    }
  }
  return found;
}

/** The words after the training script (pretrain_*.py) of the statement that runs it, or all words of a bare flag list. */
function trainingArguments(statements: readonly (readonly string[])[]): { args: string[]; launcher: string[] } {
  for (const words of statements) {
    const script = words.findIndex((word) => /(^|\/)pretrain_\w+\.py$/.test(word));
    if (script >= 0) return { args: words.slice(script + 1), launcher: words.slice(0, script) };
  }
  return { args: statements.flat().filter((word) => !/^[A-Za-z_]\w*=/.test(word) && word !== 'export'), launcher: [] };
}

/**
 * A Megatron-LM launch read back: the model and parallel settings of its `pretrain_gpt.py` flags, the world size of
 * its torchrun line, and what Megatron-LM's argument checks (megatron/training/arguments.py) would refuse or ignore.
 */
export function parseMegatronArgs(text: string, source: string): ImportedJob {
  const statements = shellStatements(text, source);
  const { args, launcher } = trainingArguments(statements);
  const flags = flagValues(args);
  const launch = flagValues(launcher);
  const env = environment(statements);
  const count = (name: string): number | undefined => positiveCount(source, name, flags.get(name));
  const findings: string[] = [];

  const layers = count('--num-layers');
  const tp = count('--tensor-model-parallel-size') ?? 1;
  const pp = count('--pipeline-model-parallel-size') ?? 1;
  const perVirtualStage = count('--num-layers-per-virtual-pipeline-stage');
  const virtualStages = count('--virtual-pipeline-model-parallel-size');
  const interleaved = pp > 1 && (perVirtualStage !== undefined || (virtualStages ?? 1) > 1);
  const llama = flags.has('--swiglu');
  const fsdp = flags.has('--use-megatron-fsdp');
  const strategy = flags.get('--data-parallel-sharding-strategy');
  const zero = fsdp ? fsdpStages[typeof strategy === 'string' ? strategy : 'optim_grads_params'] ?? 3 : flags.has('--use-distributed-optimizer') ? 1 : 0;
  const granularity = flags.get('--recompute-granularity');
  const backend = flags.get('--attention-backend');
  const precision = flags.has('--fp8-format') ? 'fp8' : flags.has('--fp16') ? 'fp16' : 'bf16';
  if (!flags.has('--bf16') && !flags.has('--fp16')) findings.push('Megatron-LM trains in fp32 without --bf16 or --fp16; the estimate assumes --bf16');

  if (flags.has('--use-flash-attn')) {
    findings.push('Megatron-LM ignores --use-flash-attn: its only reader, the legacy transformer, was removed in May 2026; the switch is --attention-backend flash');
  }
  const connections = env.get('CUDA_DEVICE_MAX_CONNECTIONS');
  const context = count('--context-parallel-size') ?? 1;
  if (fsdp && connections === '1') findings.push('Megatron-FSDP refuses CUDA_DEVICE_MAX_CONNECTIONS=1; unset it or set it above 1');
  if (!fsdp && (tp > 1 || context > 1) && connections !== '1') {
    findings.push('Megatron-LM refuses tensor or context parallelism before Blackwell unless the environment has CUDA_DEVICE_MAX_CONNECTIONS=1' +
      (env.has('CUDA_DEVICE_MAX_CONNECTIONS') ? ` (this script sets ${connections ?? 'it unset'})` : ' (this script does not set it)'));
  }
  if (fsdp && flags.get('--ckpt-format') !== 'fsdp_dtensor') findings.push('Megatron-FSDP (--use-megatron-fsdp) is refused without --ckpt-format fsdp_dtensor');
  const commType = flags.get('--cp-comm-type');
  if (context > 1 && (commType === 'allgather' || commType === 'a2a+p2p')) {
    findings.push(`--cp-comm-type ${commType} is estimated as the ring (p2p) exchange, the nearest the planner models`);
  }
  const experts = count('--num-experts');
  const expertWidth = count('--moe-ffn-hidden-size') ?? count('--ffn-hidden-size');
  const shared = count('--moe-shared-expert-intermediate-size');
  const layerFrequency = flags.get('--moe-layer-freq');
  // Megatron's layer pattern "([0]*k+[1]*n)": k leading dense layers; a plain number: every n-th layer is MoE.
  const pattern = typeof layerFrequency === 'string' ? /^\(?\[0\]\*(\d+)\+\[1\]\*\d+\)?$/.exec(layerFrequency.replace(/\s/g, '')) : null;

  const perNode = positiveCount(source, '--nproc-per-node', launch.get('--nproc-per-node') ?? launch.get('--nproc_per_node'));
  const nodes = positiveCount(source, '--nnodes', launch.get('--nnodes')) ?? 1;
  const heads = count('--num-attention-heads');
  return {
    engine: 'megatron',
    model: {
      architecture: llama ? 'llama' : 'gpt',
      ...(layers === undefined ? {} : { layers }),
      ...(count('--hidden-size') === undefined ? {} : { hidden: count('--hidden-size')! }),
      ...(heads === undefined ? {} : { heads }),
      ...(flags.has('--group-query-attention') && count('--num-query-groups') !== undefined ? { kvHeads: count('--num-query-groups')! } : {}),
      ...(count('--ffn-hidden-size') === undefined ? {} : { ffnHidden: count('--ffn-hidden-size')! }),
      ...(count('--seq-length') === undefined ? {} : { seqLength: count('--seq-length')! }),
      ...(count('--vocab-size') === undefined ? {} : { vocab: count('--vocab-size')! }),
      tiedEmbeddings: !flags.has('--untie-embeddings-and-output-weights'),
      ...(count('--kv-channels') === undefined ? {} : { headDim: count('--kv-channels')! }),
      ...(experts === undefined ? {} : {
        experts,
        expertsPerToken: count('--moe-router-topk') ?? 2,
        ...(expertWidth === undefined ? {} : { moeFfnHidden: expertWidth }),
        ...(shared === undefined || expertWidth === undefined ? {} : { sharedExperts: Math.round(shared / expertWidth) }),
        ...(pattern !== null ? { firstDenseLayers: Number(pattern[1]) }
          : /^\d+$/.test(`${layerFrequency}`) ? { moeLayerFrequency: Number(layerFrequency) } : {}),
      }),
    },
    parallel: {
      tp, pp, zero,
      ...(context > 1 ? { cp: context, cpCommunication: commType === 'a2a' ? 'all-to-all' : 'ring' } : {}),
      ...((count('--expert-model-parallel-size') ?? 1) > 1 ? { ep: count('--expert-model-parallel-size')! } : {}),
      ...(count('--micro-batch-size') === undefined ? {} : { microBatchSize: count('--micro-batch-size')! }),
      ...(count('--global-batch-size') === undefined ? {} : { globalBatchSize: count('--global-batch-size')! }),
      schedule: interleaved ? 'interleaved-1f1b' : '1f1b',
      ...(virtualStages === undefined ? {} : { virtualStages }),
      recompute: granularity === 'full' ? 'full' : granularity === 'selective' ? 'selective' : 'none',
      sequenceParallel: flags.has('--sequence-parallel'),
      flashAttention: backend !== 'unfused' && backend !== 'local',
      overlapGradReduce: flags.has('--overlap-grad-reduce'),
    },
    ...(perVirtualStage === undefined ? {} : { chunksPerRank: (all: number) => all / (pp * perVirtualStage) }),
    precision,
    // bf16 accumulates and reduces in fp32 unless told otherwise (validate_args); fp16 only when asked.
    fp32Gradients: precision === 'fp16' ? flags.has('--accumulate-allreduce-grads-in-fp32') : !flags.has('--grad-reduce-in-bf16'),
    ...(perNode === undefined ? {} : { gpus: perNode * nodes }),
    findings,
  };
}
