import { UsageError } from '../../errors.js';
import { parseJsonText } from '../config.js';
import type { ImportedJob } from './imported.js';

type Json = Record<string, unknown>;
const section = (json: Json, key: string): Json => (typeof json[key] === 'object' && json[key] !== null ? (json[key] as Json) : {});
const whole = (value: unknown): number | undefined => (typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined);

/**
 * A DeepSpeed JSON configuration read back (keys as deepspeed/runtime/config.py reads them). The JSON cannot say the
 * pipeline degree (PipelineModule's num_stages) nor, with a pipeline, the tensor degree: `tp` and `pp` come from the
 * command line. DeepSpeed's own batch assertion is repeated with the data-parallel size its engine would see.
 */
export function parseDeepspeedConfig(text: string, source: string, tp: number | undefined, pp: number | undefined, gpus: number | undefined): ImportedJob {
  const parsed = parseJsonText(text, source);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`${source}: a DeepSpeed config is a JSON object`);
  const json = parsed as Json;
  const findings: string[] = [];
  const zeroSection = section(json, 'zero_optimization');
  const zero = zeroSection['stage'] === undefined ? 0 : whole(zeroSection['stage']) ?? (zeroSection['stage'] === 0 ? 0 : NaN);
  if (zero !== 0 && zero !== 1 && zero !== 2 && zero !== 3) throw new UsageError(`${source}: zero_optimization.stage must be 0, 1, 2 or 3`);
  const autotp = whole(section(json, 'tensor_parallel')['autotp_size']);
  const pipeline = section(json, 'pipeline');
  if (pipeline['stages'] !== undefined || pipeline['partition'] !== undefined) {
    findings.push('DeepSpeed parses pipeline.stages and pipeline.partition but never reads them: the pipeline degree and partition are PipelineModule(num_stages=..., partition_method=...)');
  }
  const stages = pp ?? 1;
  const tensor = tp ?? autotp ?? 1;
  if (autotp !== undefined && autotp > 1 && stages > 1) {
    findings.push('DeepSpeed\'s AutoTP (tensor_parallel.autotp_size) fails the pipeline engine\'s data-parallel size check: it does not combine with a pipeline');
  }
  if (stages > 1 && zero > 1) findings.push(`DeepSpeed's pipeline engine refuses ZeRO-${zero}; it takes ZeRO 0 or 1`);
  const bf16 = section(json, 'bf16')['enabled'] === true || section(json, 'bfloat16')['enabled'] === true;
  const fp16 = section(json, 'fp16')['enabled'] === true;
  const accumulate = section(json, 'data_types')['grad_accum_dtype'];
  const fp32Gradients = accumulate === 'fp32' || accumulate === 'float32' || accumulate === 'float';
  if (fp32Gradients && zero === 0 && (bf16 || fp16)) findings.push('DeepSpeed refuses fp32 gradient accumulation (data_types.grad_accum_dtype) with 16-bit weights unless ZeRO is on');
  if (!bf16 && !fp16) findings.push('neither bf16 nor fp16 is enabled, so DeepSpeed trains in fp32; the estimate assumes bf16');
  const micro = whole(json['train_micro_batch_size_per_gpu']);
  const train = whole(json['train_batch_size']);
  const accumulation = whole(json['gradient_accumulation_steps']);
  // The data-parallel size DeepSpeed divides the batch by: world / pp under the pipeline engine, world / tp with AutoTP.
  const world = gpus;
  const engineDataParallel = world === undefined ? undefined : stages > 1 ? world / stages : world / (autotp ?? 1);
  if (engineDataParallel !== undefined && train !== undefined && micro !== undefined && accumulation !== undefined &&
      train !== micro * accumulation * engineDataParallel) {
    findings.push(`DeepSpeed's batch assertion fails: ${train} != ${micro} * ${accumulation} * ${engineDataParallel}` +
      (stages > 1 && tensor > 1 ? ' (with a pipeline it counts data parallelism as world / pp unless the model brings a PipeModelDataParallelTopology)' : ''));
  }
  const globalBatchSize = train ?? (micro !== undefined && accumulation !== undefined && world !== undefined ? micro * accumulation * world / (tensor * stages) : undefined);
  const checkpointing = whole(pipeline['activation_checkpoint_interval']) !== undefined || json['activation_checkpointing'] !== undefined;
  return {
    engine: 'deepspeed',
    parallel: {
      tp: tensor, pp: stages, zero, schedule: '1f1b', sequenceParallel: false,
      ...(micro === undefined ? {} : { microBatchSize: micro }),
      ...(globalBatchSize === undefined ? {} : { globalBatchSize }),
      recompute: checkpointing ? 'full' : 'none',
      overlapGradReduce: zeroSection['overlap_comm'] !== false,
    },
    precision: fp16 ? 'fp16' : 'bf16',
    fp32Gradients,
    ...(gpus === undefined ? {} : { gpus }),
    findings,
  };
}
