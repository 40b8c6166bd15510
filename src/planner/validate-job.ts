import { UsageError } from '../errors.js';
import { moeOf, validateModel, type ModelShape } from './model.js';
import { scheduleEntry, scheduleProblem } from './schedule-rules.js';
import { contextParallelDegree, expertParallelDegree, expertTensorDegree, microbatchesPerStep, type Job } from './plan.js';

const positiveInteger = (what: string, value: number): void => {
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${what} must be a positive integer, got ${value}`);
};

/** Checks the context- and expert-parallel degrees against the model and the other degrees. */
function validateContextAndExperts(job: Job): void {
  const { model, parallel } = job;
  const cp = contextParallelDegree(parallel);
  const ep = expertParallelDegree(parallel);
  if (cp > 1) {
    if (model.seqLength % (2 * cp) !== 0) {
      throw new UsageError(
        `cp ${cp} needs the sequence length (${model.seqLength}) to be a multiple of 2 × cp = ${2 * cp}: each GPU takes two of 2·cp chunks to balance the causal attention`,
      );
    }
    if (!parallel.flashAttention) {
      throw new UsageError('context parallelism computes attention block by block and needs flashAttention: true');
    }
    if (parallel.cpCommunication === 'all-to-all' && ((model.heads / parallel.tp) % cp !== 0 || (model.kvHeads / parallel.tp) % cp !== 0)) {
      throw new UsageError(
        `all-to-all context parallelism splits the heads over cp: cp ${cp} must divide the heads (${model.heads}) and key/value heads (${model.kvHeads}) per tensor-parallel rank; use cpCommunication "ring"`,
      );
    }
  }
  const moe = moeOf(model);
  const etp = expertTensorDegree(parallel);
  if (moe === undefined) {
    if (ep > 1) throw new UsageError(`ep ${ep} needs a mixture-of-experts model (model.experts); use ep 1 for a dense model`);
    if (parallel.etp !== undefined && parallel.etp !== parallel.tp) {
      throw new UsageError(`etp ${parallel.etp} needs a mixture-of-experts model (model.experts); leave etp out for a dense model`);
    }
    return;
  }
  if (moe.experts % ep !== 0) throw new UsageError(`ep ${ep} must divide the ${moe.experts} experts`);
  if (moe.moeFfnHidden % etp !== 0) throw new UsageError(`etp ${etp} must divide the expert FFN width (${moe.moeFfnHidden})`);
  const stage = parallel.tp * cp * parallel.dp;
  if (stage % (ep * etp) !== 0) {
    throw new UsageError(
      etp === parallel.tp
        ? `ep ${ep} must divide dp × cp = ${parallel.dp * cp}: expert parallelism splits the experts over data- and context-parallel ranks`
        : `ep × etp = ${ep * etp} must divide the ${stage} GPUs of a pipeline stage (tp × cp × dp)`,
    );
  }
  if (parallel.tp > 1 && !parallel.sequenceParallel && (ep > 1 || etp !== parallel.tp)) {
    throw new UsageError('expert parallelism with tp > 1 needs sequence parallelism (sequenceParallel: true), as in Megatron-LM');
  }
}

/** Models already checked: the search estimates one model thousands of times. */
const validModels = new WeakSet<ModelShape>();

/** On a cluster of GPU groups: every pipeline rank in a group, each group's GPUs used by its stages exactly. */
function validateStageGroups(job: Job): void {
  const { cluster, parallel } = job;
  const groups = parallel.stageGroups;
  if (cluster === undefined) {
    if (groups !== undefined) throw new UsageError('parallel.stageGroups places stages on GPU groups; give the cluster as groups');
    return;
  }
  if (groups === undefined) throw new UsageError('a plan on a cluster of GPU groups needs parallel.stageGroups: the group of each pipeline rank');
  if (groups.length !== parallel.pp || groups.some((g) => !Number.isInteger(g) || g < 0 || g >= cluster.groups.length)) {
    throw new UsageError(`parallel.stageGroups must list ${parallel.pp} group indices from 0 to ${cluster.groups.length - 1}, one per pipeline rank`);
  }
  const stage = parallel.tp * contextParallelDegree(parallel) * parallel.dp;
  cluster.groups.forEach((group, index) => {
    const used = groups.filter((g) => g === index).length * stage;
    if (used !== group.gpus) {
      throw new UsageError(
        `group '${group.name}' has ${group.gpus} GPUs but its ${used / stage} stages of tp × cp × dp = ${stage} use ${used}; ` +
          'tensor- and data-parallel groups stay inside a group, so each group must hold whole stages',
      );
    }
  });
}

/** Checks that a job can run as described; each UsageError says what is wrong and what would be right. */
export function validateJob(job: Job): void {
  const { model, parallel } = job;
  if (!validModels.has(model)) validModels.add(validateModel(model));
  positiveInteger('cluster.gpus', job.gpus);
  for (const key of ['tp', 'pp', 'dp', 'microBatchSize', 'globalBatchSize', 'virtualStages'] as const) {
    positiveInteger(`parallel.${key}`, parallel[key]);
  }
  if (parallel.cp !== undefined) positiveInteger('parallel.cp', parallel.cp);
  if (parallel.ep !== undefined) positiveInteger('parallel.ep', parallel.ep);
  if (parallel.etp !== undefined) positiveInteger('parallel.etp', parallel.etp);
  const { tp, pp, dp } = parallel;
  const cp = contextParallelDegree(parallel);
  if (tp * pp * cp * dp !== job.gpus) {
    const [names, values] = cp > 1 ? ['tp × pp × cp × dp', `${tp} × ${pp} × ${cp} × ${dp}`] : ['tp × pp × dp', `${tp} × ${pp} × ${dp}`];
    throw new UsageError(`${names} must equal the GPU count: ${values} = ${tp * pp * cp * dp}, not ${job.gpus}`);
  }
  if (model.heads % tp !== 0 || model.kvHeads % tp !== 0 || model.ffnHidden % tp !== 0) {
    throw new UsageError(
      `tp ${tp} must divide the heads (${model.heads}), key/value heads (${model.kvHeads}) and FFN width (${model.ffnHidden})`,
    );
  }
  const moe = moeOf(model);
  if (moe !== undefined && moe.moeFfnHidden % tp !== 0) {
    throw new UsageError(`tp ${tp} must divide the expert FFN width (${moe.moeFfnHidden})`);
  }
  if (parallel.layersPerStage !== undefined) {
    const split = parallel.layersPerStage;
    if (split.length !== pp || split.some((layers) => !Number.isInteger(layers) || layers < 1)) {
      throw new UsageError(`parallel.layersPerStage must list ${pp} positive layer counts, one per pipeline rank, got [${split.join(', ')}]`);
    }
    const total = split.reduce((sum, layers) => sum + layers, 0);
    if (total !== model.layers) throw new UsageError(`parallel.layersPerStage adds up to ${total} layers, not the model's ${model.layers}`);
  } else if (pp > model.layers || model.layers - (pp - 1) * Math.ceil(model.layers / pp) < 1) {
    throw new UsageError(`pp ${pp} cannot split ${model.layers} layers with at least one layer per rank; use a smaller pp`);
  }
  validateContextAndExperts(job);
  validateStageGroups(job);
  const sequencesPerPipeline = parallel.microBatchSize * dp;
  if (parallel.globalBatchSize % sequencesPerPipeline !== 0) {
    throw new UsageError(
      `global batch ${parallel.globalBatchSize} must be a multiple of micro-batch × dp = ${parallel.microBatchSize} × ${dp} = ${sequencesPerPipeline}`,
    );
  }
  // The schedule's own rules, from the catalogue. An explicit split may count the embedding and output layer as a
  // chunk's work (Qi et al. 2024 give the first and last rank one layer fewer), so only the default split needs whole chunks.
  const problem = scheduleProblem(scheduleEntry(parallel.schedule), {
    pp, microbatches: microbatchesPerStep(parallel), chunks: parallel.virtualStages, layers: model.layers,
    explicitSplit: parallel.layersPerStage !== undefined,
  });
  if (problem !== undefined) throw new UsageError(`${problem.rule}: ${problem.value}`);
  if (![0, 1, 2, 3].includes(parallel.zero)) throw new UsageError(`parallel.zero must be 0, 1, 2 or 3, got ${parallel.zero}`);
  const offload = parallel.offload ?? 'none';
  if (offload === 'optimizer-and-parameters' && parallel.zero !== 3) {
    throw new UsageError(`offloading the parameters shards them first: it needs ZeRO-3 (zero: 3), got ZeRO-${parallel.zero}`);
  }
  if (offload !== 'none' && parallel.optimizer === 'adam-8bit') {
    throw new UsageError('an offloaded optimizer runs fp32 Adam on the CPU (DeepSpeed CPU-Adam); use optimizer "adam" with offload, or 8-bit Adam on the GPU');
  }
}
