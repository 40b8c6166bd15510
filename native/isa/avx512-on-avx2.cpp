// The AVX-512 source (64-byte vectors, the same tiles) built for AVX2, where the compiler splits each vector
// in two: slow, but it runs the AVX-512 table's exact logic on hosts without AVX-512, so the tests cover it.
#define CONVEYOR_ISA avx512_on_avx2
#define CONVEYOR_ISA_NAME "avx512-on-avx2"
#define CONVEYOR_TABLE avx512LayoutOnAvx2Kernels
#define CONVEYOR_VECTOR_BYTES 64
#define CONVEYOR_TILES(X) X(12, 2) X(14, 2) X(8, 3) X(6, 4)
#define CONVEYOR_DEFAULT_TUNING {0, 96, 256, 2048}
#include "../kernels.inc"
