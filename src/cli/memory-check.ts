/**
 * What a command will allocate, per thread, checked before it allocates: a model or batch too large for the
 * 4 GiB of kernel memory one thread can address (or for the machine) is refused in one line that says what
 * it needs, what there is, and what would fit, instead of failing deep inside an allocation.
 */
import { totalmem } from 'node:os';
import { unitCount, type GPTConfig } from '../nn/index.js';
import {
  addBytes, inferenceBufferBytes, kernelBytes, noBytes, parameterBytes, parameterElements, stashRecords, trainingBufferBytes, type Bytes,
} from '../nn/memory.js';
import type { Partition } from '../runtime/partition.js';
import type { Schedule } from '../schedule/index.js';
import { KERNEL_MEMORY_BYTES, kernelBytesInUse } from '../tensor/index.js';

/**
 * Kernel memory a thread's kernels take for themselves: the WebAssembly GEMM's packing scratch (1.14 MiB,
 * gemm.as.ts scratchBytes()) with room to spare; the native kernels take none. test/cli-memory.test.ts holds
 * the WebAssembly backend to it.
 */
export const KERNEL_SCRATCH_BYTES = 2 * 2 ** 20;
import { UsageError } from '../errors.js';

/**
 * Memory a rank's thread takes before it holds any model state: its JavaScript heap, its modules and its
 * stack (about 12 MiB resident per worker thread, measured as `train --replicas 32` against `--replicas 8`
 * on a tiny model), with room to spare. Without it a run of thousands of tiny ranks passed the check.
 */
export const RANK_THREAD_BYTES = 16 * 2 ** 20;

/** One thread's share: what it will allocate, and what its kernel memory already holds. */
export interface ThreadNeed {
  /** 'rank 0', 'the driver (main thread)', … */
  readonly who: string;
  readonly bytes: Bytes;
  readonly inUse: number;
}

export function size(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(bytes >= 10 * 2 ** 30 ? 0 : 2)} GiB`;
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function parts(bytes: Bytes): string {
  const named: [string, number][] = [
    ['parameters and gradients', bytes.parameters],
    ['activations of micro-batches in flight', bytes.activations],
    ['work buffers', bytes.work],
  ];
  return named.filter(([, value]) => value > 0).map(([name, value]) => `${name} ${size(value)}`).join(', ');
}

/**
 * The first thread whose kernel memory overflows, or (when every thread runs on this machine, as worker threads
 * do, but launched processes on other hosts do not) all of them together passing the machine's memory.
 */
export function memoryProblem(threads: readonly ThreadNeed[], { oneMachine = true, machineBytes = totalmem() } = {}): string | undefined {
  for (const { who, bytes, inUse } of threads) {
    const kernel = kernelBytes(bytes) + inUse + KERNEL_SCRATCH_BYTES;
    if (kernel > KERNEL_MEMORY_BYTES) {
      return `${who} needs ${size(kernel)} of kernel memory (${parts(bytes)}), more than the ${size(KERNEL_MEMORY_BYTES)} one thread can address`;
    }
  }
  if (!oneMachine) return undefined;
  const total = threads.reduce((sum, { bytes, inUse }) => sum + kernelBytes(bytes) + inUse + KERNEL_SCRATCH_BYTES + bytes.other, 0);
  if (total > machineBytes) return `the run needs ${size(total)} of memory in all, more than this machine's ${size(machineBytes)}`;
  return undefined;
}

/** The largest value in [1, most] for which `fits` holds (if it holds for a value, it holds for every smaller one). */
export function largestFitting(most: number, fits: (value: number) => boolean): number | undefined {
  if (most < 1 || !fits(1)) return undefined;
  let low = 1; // fits
  let high = most + 1; // does not, or lies past the range
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (fits(middle)) low = middle;
    else high = middle;
  }
  return low;
}

/** Float32 values of the weights of units [first, last) (without gradients). */
function weightValues(config: GPTConfig, range: readonly [number, number]): number {
  let values = 0;
  for (let index = range[0]; index < range[1]; index++) values += parameterElements(config, index);
  return values;
}

/** What a training run's threads hold; the partition is unknown until the ranks have profiled the units. */
export interface TrainShape {
  readonly config: GPTConfig;
  readonly batchSize: number;
  readonly seqLen: number;
  readonly recompute: boolean;
  readonly schedule: Schedule;
  /** Data-parallel replicas of the pipeline (--replicas): each runs 1/replicas of every micro-batch. */
  readonly replicas: number;
  /** Context shapes [rows, length] the built-in task's accuracy is decoded at (none for a text file). */
  readonly accuracyShapes: readonly (readonly [number, number])[];
  readonly partition?: Partition;
  /** The driver's kernel memory in use before the run allocates anything (kernelBytesInUse() then). */
  readonly driverInUse: number;
}

/** One stand-in segment per unit kind, as profile.ts builds them on the profiling rank, each with one micro-batch stashed. */
function profilingBytes(shape: TrainShape, B: number): Bytes {
  const { config, seqLen: T } = shape;
  const units = unitCount(config);
  const once = { 'F→I': 1, 'F→W': 1, 'I→W': 1, 'kept inputs': 0 };
  const inputs = { ...noBytes, other: 2 * 4 * B * T * config.embd }; // the stand-in input and gradient [B, T, C]
  return ([[0, 1], [1, 2], [units - 1, units]] as const).reduce(
    (total, range) => addBytes(total, addBytes(parameterBytes(config, range, false), trainingBufferBytes(config, range, B, T, once))),
    inputs,
  );
}

/**
 * The driver holds a whole copy of the model (to save it and to score the built-in task), the batches, and at
 * a save the gathered state and its encoded files (9 copies of the weights: weights, two moments, then each
 * of those as file data and as the file). Rank 0 also profiles the units; with a partition, each rank holds
 * its stages, their optimizer state and stash records, and the messages it may be sent ahead of need; with
 * replicas, every replica's ranks hold the same, and a stage's flat gradient copy for the all-reduce and its chunks.
 */
export function trainThreads(shape: TrainShape): ThreadNeed[] {
  const { config, schedule, batchSize, seqLen: T, replicas } = shape;
  const B = batchSize / (schedule.microbatches * replicas);
  const units = unitCount(config);
  // A tied head's wte.weight is saved once.
  const saved = weightValues(config, [0, units]) - (config.tied ? config.vocabSize * config.embd : 0);
  const driver = addBytes(parameterBytes(config, [0, units], false), {
    ...inferenceBufferBytes(config, shape.accuracyShapes),
    other: 4 * (9 * saved + 12 * batchSize * T),
  });
  const threads: ThreadNeed[] = [{ who: 'the driver (main thread)', bytes: driver, inUse: shape.driverInUse }];
  const partition = shape.partition;
  for (let rank = 0; rank < schedule.ranks * replicas; rank++) {
    let bytes = addBytes(rank === 0 ? profilingBytes(shape, B) : noBytes, { ...noBytes, other: RANK_THREAD_BYTES });
    if (partition !== undefined) {
      schedule.placement.forEach((owner, stage) => {
        if (owner !== rank % schedule.ranks) return;
        const range = [partition.starts[stage]!, partition.starts[stage + 1]!] as const;
        const records = stashRecords(schedule.order[owner]!, stage, shape.recompute);
        // Messages a stage may be sent ahead of need (every micro-batch's activation, gradient, tokens or targets),
        // and its weights and moments gathered for a save or the end.
        const N = B * T;
        const first = stage === 0;
        const last = stage === schedule.stages - 1;
        const perMicrobatch = (first ? N : N * config.embd) + (last ? N : N * config.embd);
        const reduction = replicas > 1 ? 2 * weightValues(config, range) : 0;
        const other = 4 * (schedule.microbatches * perMicrobatch + 3 * weightValues(config, range) + reduction);
        bytes = addBytes(bytes, addBytes(addBytes(parameterBytes(config, range, true), trainingBufferBytes(config, range, B, T, records)), { ...noBytes, other }));
      });
    }
    threads.push({ who: partition === undefined ? `rank ${rank} while profiling` : `rank ${rank}`, bytes, inUse: 0 });
  }
  return threads;
}

/** The flags a user may change to fit: all of them on a fresh run; a resumed one keeps its model's shape. */
export interface TrainFlags {
  readonly layers: number;
  readonly embd: number;
  readonly heads: number;
  readonly resuming: boolean;
}

/** Changes to one flag each that make a training run fit, if any do. */
function trainFitting(shape: TrainShape, fits: (changed: TrainShape) => boolean, flags: TrainFlags): string | undefined {
  const { config, schedule } = shape;
  const found: string[] = [];
  if (!shape.recompute && fits({ ...shape, recompute: true })) found.push('--recompute');
  const parts = schedule.microbatches * shape.replicas;
  const microbatch = largestFitting(shape.batchSize / parts - 1, (b) => fits({ ...shape, batchSize: b * parts }));
  if (microbatch !== undefined) found.push(`--batch-size ${microbatch * parts}`);
  // A fresh model is as long as its sequences; a resumed one keeps its n_positions.
  const seqLen = largestFitting(shape.seqLen - 1, (T) => fits({ ...shape, seqLen: T, config: flags.resuming ? config : { ...config, blockSize: T } }));
  if (found.length === 0 && seqLen !== undefined) found.push(`--seq-len ${seqLen}`);
  // fewer replicas, each taking more of every micro-batch: the largest that fits and divides the micro-batch
  // (every count below one that fits fits too, as largestFitting assumes)
  const replicas = largestFitting(shape.replicas - 1, (r) => fits({ ...shape, replicas: r }));
  if (replicas !== undefined) {
    const perMicrobatch = shape.batchSize / schedule.microbatches;
    let divisor = replicas;
    while (divisor > 1 && perMicrobatch % divisor !== 0) divisor--;
    found.push(`--replicas ${divisor}`);
  }
  if (found.length === 0 && !flags.resuming) {
    const layers = largestFitting(config.layers - 1, (L) => fits({ ...shape, config: { ...config, layers: L } }));
    if (layers !== undefined) found.push(`--layers ${layers}`);
    const headWidth = largestFitting(config.embd / config.heads - 1, (w) => fits({ ...shape, config: { ...config, embd: w * config.heads } }));
    if (headWidth !== undefined) found.push(`--embd ${headWidth * config.heads}`);
  }
  return found.length === 0 ? undefined : found.join(' or ');
}

/** Refuses a training run that cannot fit, with what it needs, what there is, and the flags that would fit. */
export function checkTrainMemory(shape: TrainShape, flags: TrainFlags, machine: { readonly oneMachine: boolean } = { oneMachine: true }): void {
  const problem = memoryProblem(trainThreads(shape), machine);
  if (problem === undefined) return;
  const fitting = trainFitting(shape, (changed) => memoryProblem(trainThreads(changed), machine) === undefined, flags);
  const more = shape.partition === undefined ? '' : ' (or more --stages)';
  throw new UsageError(`${problem}: ${fitting === undefined ? 'no single flag makes it fit; use a smaller model' : `${fitting} would fit`}${more}`);
}

/**
 * eval and sample hold the model once (parameters and gradients, as built) and run forwards that keep nothing;
 * reading the checkpoint holds its file and its decoded tensors for a moment.
 */
export function checkInferenceMemory(what: string, config: GPTConfig, shapes: readonly (readonly [number, number])[]): void {
  const units = unitCount(config);
  const bytes = addBytes(parameterBytes(config, [0, units], false), { ...inferenceBufferBytes(config, shapes), other: 2 * 4 * weightValues(config, [0, units]) });
  const problem = memoryProblem([{ who: what, bytes, inUse: kernelBytesInUse() }]);
  if (problem !== undefined) throw new UsageError(`${problem}; only a smaller model would fit`);
}
