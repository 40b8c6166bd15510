// AVX2 + FMA: 256-bit vectors, 16 registers. Tiles measured in docs/benchmarks.md ("Native GEMM").
#define CONVEYOR_ISA avx2
#define CONVEYOR_ISA_NAME "avx2"
#define CONVEYOR_TABLE avx2Kernels
#define CONVEYOR_VECTOR_BYTES 32
#define CONVEYOR_TILES(X) X(6, 2) X(4, 3) X(5, 2) X(8, 1)
#define CONVEYOR_DEFAULT_TUNING {0, 96, 256, 2048}
#include "../kernels.inc"
