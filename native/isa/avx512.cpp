// AVX-512F: 512-bit vectors, 32 registers. Tiles as BLIS configures Skylake-X; not measured on this host.
#define CONVEYOR_ISA avx512
#define CONVEYOR_ISA_NAME "avx512"
#define CONVEYOR_TABLE avx512Kernels
#define CONVEYOR_VECTOR_BYTES 64
#define CONVEYOR_TILES(X) X(12, 2) X(14, 2) X(8, 3) X(6, 4)
#define CONVEYOR_DEFAULT_TUNING {0, 96, 256, 2048}
#include "../kernels.inc"
