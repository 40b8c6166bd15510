import type { Gpu } from './hardware.js';

/** What one GPU sustains: the tensor-core peak of the training precision and the catalogue's efficiencies. */
export interface Device {
  readonly gpu: Gpu;
  /** Tensor-core peak for the GEMMs' precision (fp8 where the run trains in fp8), FLOP/s. */
  readonly peak: number;
}

/** Output tile of one GEMM thread block; a GEMM runs its tiles in waves of one tile per SM. */
const TILE = 128;
/** Fraction of HBM bandwidth a streaming kernel reaches. */
export const HBM_EFFICIENCY = 0.85;
/** Gap between back-to-back kernels on one stream (launch and tail), seconds. */
export const KERNEL_GAP_S = 3e-6;
/** Flash attention reaches this share of a large GEMM's throughput (fused softmax between the two products). */
const FLASH_FORWARD_SHARE = 0.85;
const FLASH_BACKWARD_SHARE = 0.7;

/**
 * Seconds for `batch` products C[m,n] = A[m,k]·B[k,n] with 16-bit inputs: the slower of the tensor cores and HBM.
 * The tensor cores reach `gemmEfficiency` of peak only when there are many tiles per SM; with few tiles the last
 * wave runs part-empty, which on average costs half a wave (tiles / (tiles + SMs/2)).
 * `outputBytes` is what C costs per element: 2 to write a 16-bit result, 8 to read and write an fp32 accumulator.
 */
export function gemmSeconds(device: Device, m: number, n: number, k: number, batch = 1, outputBytes = 2): number {
  const { gpu } = device;
  const flops = 2 * m * n * k * batch;
  const tiles = Math.ceil(m / TILE) * Math.ceil(n / TILE) * batch;
  const occupancy = tiles / (tiles + gpu.sms / 2);
  const compute = flops / (device.peak * gpu.gemmEfficiency * occupancy);
  const bytes = batch * (2 * m * k + 2 * k * n + outputBytes * m * n);
  const memory = bytes / (gpu.memoryBandwidth * HBM_EFFICIENCY);
  return Math.max(compute, memory) + KERNEL_GAP_S;
}

/** Seconds for a memory-bound (element-wise, normalisation, softmax) pass over `bytes`. */
export const streamSeconds = (device: Device, bytes: number, kernels: number): number =>
  bytes / (device.gpu.memoryBandwidth * HBM_EFFICIENCY) + kernels * KERNEL_GAP_S;

/** Seconds for a fused flash-attention pass of `flops` (forward, or backward when `backward`); it runs in bf16. */
export const flashSeconds = (device: Device, flops: number, backward: boolean): number =>
  flops / (device.gpu.peakBf16 * device.gpu.gemmEfficiency * (backward ? FLASH_BACKWARD_SHARE : FLASH_FORWARD_SHARE)) +
  KERNEL_GAP_S;
