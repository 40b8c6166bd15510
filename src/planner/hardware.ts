import { UsageError } from '../errors.js';
import { quote } from '../quote.js';

/**
 * One accelerator and the node it sits in: the numbers the time and memory model reads.
 * Bandwidths are per GPU and per direction, in bytes per second; peaks are dense (no sparsity).
 */
export interface Gpu {
  readonly id: string;
  readonly name: string;
  /** Dense bf16/fp16 tensor-core peak, FLOP/s. */
  readonly peakBf16: number;
  /** Dense fp8 tensor-core peak, FLOP/s; absent where the chip has no fp8. */
  readonly peakFp8?: number;
  /** Device memory, bytes. */
  readonly memoryBytes: number;
  /** HBM bandwidth, bytes/s. */
  readonly memoryBandwidth: number;
  /** Intra-node link (NVLink / Infinity Fabric) bandwidth per GPU per direction, bytes/s. */
  readonly intraNodeBandwidth: number;
  readonly gpusPerNode: number;
  /** Inter-node network bandwidth per GPU per direction (one NIC per GPU), bytes/s. */
  readonly interNodeBandwidth: number;
  /** Best fraction of the tensor-core peak a large GEMM reaches with the vendor BLAS. */
  readonly gemmEfficiency: number;
  /** Streaming multiprocessors (compute units): how many GEMM tiles run at once. */
  readonly sms: number;
  /** Host (CPU) memory of one node, bytes: where offloaded optimizer states and weights live. */
  readonly hostMemoryBytes: number;
  /** Host DRAM bandwidth of one node (all sockets), bytes/s: what a CPU Adam step streams through. */
  readonly hostMemoryBandwidth: number;
  /** The PCIe link between one GPU and the host, bytes/s per direction. */
  readonly pcieBandwidth: number;
}

const GB = 1e9;
const GiB = 2 ** 30;
const TFLOPS = 1e12;

/**
 * The catalogue; ids are a contract other tools rely on. Figures are the vendors' published specifications. Host
 * figures are the vendors' 8-GPU servers: DGX A100 (1 TB with 40 GB GPUs, 2 TB with 80 GB; two EPYC 7742, 16 channels
 * of DDR4-3200), DGX H100/H200 (2 TB; two Xeon 8480C, 16 channels of DDR5-4800), DGX B200 (4 TB; two Xeon 8570, 16
 * channels of DDR5-5600), an MI300X platform with two EPYC 9004 (24 channels of DDR5-4800, 2 TB); PCIe 4.0 or 5.0 x16.
 */
export const gpuCatalogue: readonly Gpu[] = [
  {
    id: 'a100-40gb', name: 'NVIDIA A100 SXM 40GB', peakBf16: 312 * TFLOPS,
    memoryBytes: 40 * GiB, memoryBandwidth: 1555 * GB, intraNodeBandwidth: 300 * GB, gpusPerNode: 8,
    interNodeBandwidth: 25 * GB, gemmEfficiency: 0.8, sms: 108,
    hostMemoryBytes: 1024 * GiB, hostMemoryBandwidth: 409.6 * GB, pcieBandwidth: 32 * GB,
  },
  {
    id: 'a100-80gb', name: 'NVIDIA A100 SXM 80GB', peakBf16: 312 * TFLOPS,
    memoryBytes: 80 * GiB, memoryBandwidth: 2039 * GB, intraNodeBandwidth: 300 * GB, gpusPerNode: 8,
    interNodeBandwidth: 25 * GB, gemmEfficiency: 0.8, sms: 108,
    hostMemoryBytes: 2048 * GiB, hostMemoryBandwidth: 409.6 * GB, pcieBandwidth: 32 * GB,
  },
  {
    id: 'h100-sxm', name: 'NVIDIA H100 SXM 80GB', peakBf16: 989 * TFLOPS, peakFp8: 1979 * TFLOPS,
    memoryBytes: 80 * GiB, memoryBandwidth: 3350 * GB, intraNodeBandwidth: 450 * GB, gpusPerNode: 8,
    interNodeBandwidth: 50 * GB, gemmEfficiency: 0.68, sms: 132,
    hostMemoryBytes: 2048 * GiB, hostMemoryBandwidth: 614.4 * GB, pcieBandwidth: 64 * GB,
  },
  {
    id: 'h200', name: 'NVIDIA H200 SXM 141GB', peakBf16: 989 * TFLOPS, peakFp8: 1979 * TFLOPS,
    memoryBytes: 141 * GB, memoryBandwidth: 4800 * GB, intraNodeBandwidth: 450 * GB, gpusPerNode: 8,
    interNodeBandwidth: 50 * GB, gemmEfficiency: 0.68, sms: 132,
    hostMemoryBytes: 2048 * GiB, hostMemoryBandwidth: 614.4 * GB, pcieBandwidth: 64 * GB,
  },
  {
    id: 'b200', name: 'NVIDIA B200 180GB (HGX)', peakBf16: 2250 * TFLOPS, peakFp8: 4500 * TFLOPS,
    memoryBytes: 180 * GB, memoryBandwidth: 7700 * GB, intraNodeBandwidth: 900 * GB, gpusPerNode: 8,
    interNodeBandwidth: 50 * GB, gemmEfficiency: 0.67, sms: 148,
    hostMemoryBytes: 4096 * GiB, hostMemoryBandwidth: 716.8 * GB, pcieBandwidth: 64 * GB,
  },
  {
    id: 'mi300x', name: 'AMD Instinct MI300X 192GB', peakBf16: 1307 * TFLOPS, peakFp8: 2615 * TFLOPS,
    memoryBytes: 192 * GB, memoryBandwidth: 5300 * GB, intraNodeBandwidth: 448 * GB, gpusPerNode: 8,
    interNodeBandwidth: 50 * GB, gemmEfficiency: 0.5, sms: 304,
    hostMemoryBytes: 2048 * GiB, hostMemoryBandwidth: 921.6 * GB, pcieBandwidth: 64 * GB,
  },
];

/** Looks a GPU up by id among the catalogue and any user-defined ones; a UsageError lists the known ids. */
export function findGpu(id: string, extra: readonly Gpu[] = []): Gpu {
  const all = [...extra, ...gpuCatalogue];
  const gpu = all.find((candidate) => candidate.id === id);
  if (gpu === undefined) {
    throw new UsageError(`unknown GPU ${quote(id)}; known GPUs: ${all.map((g) => g.id).join(', ')}`);
  }
  return gpu;
}

/** The tensor-core peak for a precision; a UsageError where the chip lacks it. */
export function peakFlops(gpu: Gpu, precision: Precision): number {
  if (precision !== 'fp8') return gpu.peakBf16;
  if (gpu.peakFp8 === undefined) {
    throw new UsageError(`GPU '${gpu.id}' has no fp8 tensor cores; use precision bf16 or fp16`);
  }
  return gpu.peakFp8;
}

export type Precision = 'bf16' | 'fp16' | 'fp8';
