// The kernels one instruction set provides, as a table of plain functions: the addon picks one table at
// load time (AVX-512F, else AVX2+FMA) and every call goes through it. Arrays are row-major float32; the
// shapes and contracts are those of src/tensor/ (docs/kernels.md). Lengths were checked by the caller.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "pool.h"

namespace conveyor {

/** Cache blocking and the register tile, chosen per ISA by measurement (bench/gemm.ts --tune). */
struct GemmTuning {
  int tile;  // index into the ISA's list of register tiles
  int mc;    // rows of A packed at a time
  int kc;    // k-steps per packed block
  int nc;    // columns of B packed at a time
};

// scratch slots
constexpr int kPackedA = 0;
constexpr int kPackedB = 1;
constexpr int kWork = 2;  // per-kernel temporaries (attention score gradients, per-row losses)
constexpr int kScratchSlots = 3;

/** Growable 64-byte-aligned float buffers: one set per pool thread, so parallel kernels never share scratch. */
class Scratch {
 public:
  explicit Scratch(int threads);
  /** At least `floats` floats for (thread, slot); the contents are only valid until the next kernel call. */
  float* get(int thread, int slot, long floats);

 private:
  struct Buffer {
    std::unique_ptr<float, void (*)(void*)> data{nullptr, nullptr};
    long floats = 0;
  };
  std::vector<std::vector<Buffer>> buffers_;  // [thread][slot]
};

/** What a kernel call needs besides its arrays: the thread team, its scratch and the GEMM tuning. */
struct Context {
  Context(int threads, GemmTuning tuning) : pool(threads), scratch(threads), tuning(tuning) {}
  Pool pool;
  Scratch scratch;
  GemmTuning tuning;
};


constexpr int kTransA = 1;
constexpr int kTransB = 2;
constexpr int kAccumulate = 4;

struct AdamWStep {
  double learningRate, beta1, beta2, epsilon, weightDecay;
  double firstCorrection, secondCorrection, gradScale;
};

struct KernelTable {
  const char* isa;
  GemmTuning defaultTuning;
  int tileCount;
  const char* const* tileNames;

  /** c[M,N] (+)= op(a)[M,K] · op(b)[K,N]; flags kTransA | kTransB | kAccumulate. */
  void (*gemm)(Context&, float* c, const float* a, const float* b, int M, int K, int N, int flags);

  void (*fillRowsWithBias)(Context&, float* out, const float* bias, int N, int C);
  void (*biasBackward)(Context&, float* dbias, const float* dout, int N, int C);
  void (*residualForward)(Context&, float* out, const float* a, const float* b, long n);
  void (*geluForward)(Context&, float* out, float* derivative, const float* inp, long n);
  void (*geluBackward)(Context&, float* dinp, const float* derivative, const float* dout, long n);
  void (*layerNormForward)(Context&, float* out, float* mean, float* rstd, const float* inp, const float* weight,
                           const float* bias, int N, int C);
  void (*layerNormBackwardInput)(Context&, float* dinp, const float* dout, const float* inp, const float* weight,
                                 const float* mean, const float* rstd, int N, int C);
  void (*layerNormBackwardWeight)(Context&, float* dweight, float* dbias, const float* dout, const float* inp,
                                  const float* mean, const float* rstd, int N, int C);
  void (*softmaxForward)(Context&, float* out, const float* inp, int rows, int cols, float scale, bool causal);
  void (*softmaxBackward)(Context&, float* dinp, const float* out, const float* dout, int rows, int cols, float scale,
                          bool causal);
  /** Returns the mean over N of -log softmax(logits)[target]; probs may alias logits. */
  double (*crossEntropyForward)(Context&, float* probs, const float* logits, const int32_t* targets, int N, int V);
  void (*crossEntropyBackward)(Context&, float* dlogits, const float* probs, const int32_t* targets, int N, int V,
                               float dLossPerToken);
  void (*embeddingForward)(Context&, float* out, const int32_t* tokens, const float* wte, const float* wpe, int B,
                           int T, int C);
  void (*embeddingBackward)(Context&, float* dwte, float* dwpe, const float* dout, const int32_t* tokens, int B, int T,
                            int C);
  void (*attentionForward)(Context&, float* y, float* qkvHeads, float* att, const float* qkv, int B, int T, int C,
                           int NH);
  void (*attentionBackward)(Context&, float* dqkv, const float* dy, const float* qkvHeads, const float* att, int B,
                            int T, int C, int NH);
  void (*adamwUpdate)(Context&, float* param, const float* grad, float* m, float* v, long n, const AdamWStep&);
  double (*sumOfSquares)(Context&, const float* x, long n);

  /** Thread CPU seconds (and wall seconds) for `iterations` trips of an FMA loop of flopsPerIteration flops. */
  double (*fmaPeak)(long iterations, double* flopsPerIteration, double* wallSeconds);
};

const KernelTable* avx2Kernels();
const KernelTable* avx512Kernels();
/** The AVX-512 source (widths and tiles) compiled for AVX2, so its logic is tested on hosts without AVX-512. */
const KernelTable* avx512LayoutOnAvx2Kernels();

}  // namespace conveyor
