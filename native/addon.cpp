// The Node-API face of the native kernels: one function per kernel of src/tensor/'s facade, taking the same
// typed arrays (wherever they live: kernel memory over a SharedArrayBuffer or an ordinary Float32Array) and
// reading and writing them in place. Every array's length is checked against the shape before any kernel
// touches it, so a wrong call is a RangeError, never a wild write. Each JavaScript thread that loads the
// addon gets its own state (kernel table, thread team, scratch): the backend is per thread, like the Wasm one.
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "kernels.h"

namespace conveyor {
namespace {

struct AddonState {
  const KernelTable* table = nullptr;
  std::unique_ptr<Context> context;
};

/** The best table this CPU can run: AVX-512F, else AVX2 with FMA, else none (the Wasm kernels take over). */
const KernelTable* detectTable() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return avx512Kernels();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return avx2Kernels();
  return nullptr;
}

/** A table by name, when this CPU can run it. */
const KernelTable* namedTable(const std::string& name) {
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (name == "avx512" && __builtin_cpu_supports("avx512f")) return avx512Kernels();
  if (name == "avx2" && avx2) return avx2Kernels();
  if (name == "avx512-on-avx2" && avx2) return avx512LayoutOnAvx2Kernels();
  return nullptr;
}

/** The arguments of one call, read with checks; the first failure throws into JavaScript and sets `failed`. */
class Call {
 public:
  Call(napi_env env, napi_callback_info info) : env_(env) {
    size_t count = kMaxArgs;
    void* data = nullptr;
    if (napi_get_cb_info(env, info, &count, args_, nullptr, &data) != napi_ok) fail("cannot read the arguments");
    count_ = count;
    state_ = static_cast<AddonState*>(data);
  }

  napi_env env() const { return env_; }
  bool failed() const { return failed_; }

  /** The thread's kernel context; throws when configure() has not run yet. */
  Context* context() {
    if (failed_) return nullptr;
    if (!state_->context) {
      fail("the native kernels are not configured on this thread: call configure(threads) first");
      return nullptr;
    }
    return state_->context.get();
  }
  const KernelTable& table() const { return *state_->table; }
  AddonState& state() { return *state_; }

  long integer(size_t index, const char* name) {
    int64_t value = 0;
    if (!present(index) || napi_get_value_int64(env_, args_[index], &value) != napi_ok || value < 0) {
      fail(std::string(name) + " must be a non-negative integer", true);
      return 0;
    }
    return static_cast<long>(value);
  }

  double number(size_t index, const char* name) {
    double value = 0;
    if (!present(index) || napi_get_value_double(env_, args_[index], &value) != napi_ok) fail(std::string(name) + " must be a number");
    return value;
  }

  bool boolean(size_t index, const char* name) {
    bool value = false;
    if (!present(index) || napi_get_value_bool(env_, args_[index], &value) != napi_ok) fail(std::string(name) + " must be a boolean");
    return value;
  }

  std::string text(size_t index, const char* name) {
    char buffer[64];
    size_t length = 0;
    if (!present(index) || napi_get_value_string_utf8(env_, args_[index], buffer, sizeof buffer, &length) != napi_ok) {
      fail(std::string(name) + " must be a string");
      return "";
    }
    return std::string(buffer, length);
  }

  float* floats(size_t index, const char* name, long needed) {
    return static_cast<float*>(typedArray(index, name, napi_float32_array, "Float32Array", needed));
  }

  int32_t* ints(size_t index, const char* name, long needed) {
    return static_cast<int32_t*>(typedArray(index, name, napi_int32_array, "Int32Array", needed));
  }

  /** The element count of the typed array at `index` (0 when it is not one). */
  long length(size_t index) {
    size_t length = 0;
    if (present(index)) napi_get_typedarray_info(env_, args_[index], nullptr, &length, nullptr, nullptr, nullptr);
    return static_cast<long>(length);
  }

  /** ids[0..count) must lie in [0, bound). */
  void checkIds(const int32_t* ids, long count, long bound, const char* name) {
    if (failed_) return;
    for (long i = 0; i < count; i++) {
      if (ids[i] < 0 || ids[i] >= bound) {
        fail(std::string(name) + " id " + std::to_string(ids[i]) + " at " + std::to_string(i) + " is outside [0, " + std::to_string(bound) + ")", true);
        return;
      }
    }
  }

  void fail(const std::string& message, bool range = false) {
    if (failed_) return;
    failed_ = true;
    const std::string text = "native kernels: " + message;
    if (range) napi_throw_range_error(env_, nullptr, text.c_str());
    else napi_throw_type_error(env_, nullptr, text.c_str());
  }

  napi_value undefined() {
    napi_value value;
    napi_get_undefined(env_, &value);
    return value;
  }

  napi_value makeNumber(double value) {
    napi_value result;
    napi_create_double(env_, value, &result);
    return result;
  }

  napi_value makeString(const char* value) {
    napi_value result;
    napi_create_string_utf8(env_, value, NAPI_AUTO_LENGTH, &result);
    return result;
  }

 private:
  static constexpr size_t kMaxArgs = 12;

  bool present(size_t index) const { return !failed_ && index < count_; }

  void* typedArray(size_t index, const char* name, napi_typedarray_type wanted, const char* typeName, long needed) {
    if (failed_) return nullptr;
    bool isTypedArray = false;
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (!present(index) || napi_is_typedarray(env_, args_[index], &isTypedArray) != napi_ok || !isTypedArray ||
        napi_get_typedarray_info(env_, args_[index], &type, &length, &data, nullptr, nullptr) != napi_ok || type != wanted) {
      fail(std::string(name) + " must be a " + typeName);
      return nullptr;
    }
    if (static_cast<long>(length) < needed) {
      fail(std::string(name) + " holds " + std::to_string(length) + " elements but needs " + std::to_string(needed), true);
      return nullptr;
    }
    return data;
  }

  napi_env env_;
  napi_value args_[kMaxArgs];
  size_t count_ = 0;
  AddonState* state_ = nullptr;
  bool failed_ = false;
};

// ---- set-up and tuning ----

/** The ISA of the table in use ("avx2", "avx512", "avx512-on-avx2"), or null when this CPU has neither. */
napi_value Isa(napi_env env, napi_callback_info info) {
  Call call(env, info);
  if (call.state().table == nullptr) {
    napi_value null;
    napi_get_null(env, &null);
    return null;
  }
  return call.makeString(call.table().isa);
}

/** configure(threads[, table]): the team size, and optionally a named table (tests, benches); resets tuning. */
napi_value Configure(napi_env env, napi_callback_info info) {
  Call call(env, info);
  const long threads = call.integer(0, "threads");
  size_t count = 0;
  napi_get_cb_info(env, info, &count, nullptr, nullptr, nullptr);
  if (!call.failed() && count > 1) {
    const std::string name = call.text(1, "table");
    const KernelTable* table = namedTable(name);
    if (!call.failed() && table == nullptr) call.fail("this CPU cannot run the " + name + " kernels", true);
    if (!call.failed()) call.state().table = table;
  }
  if (call.failed()) return nullptr;
  if (call.state().table == nullptr) {
    call.fail("this CPU has neither AVX-512F nor AVX2 with FMA", true);
    return nullptr;
  }
  if (threads < 1 || threads > 256) {
    call.fail("threads must be between 1 and 256", true);
    return nullptr;
  }
  call.state().context = std::make_unique<Context>(static_cast<int>(threads), call.table().defaultTuning);
  return call.undefined();
}

/** tiles(): the register tiles compiled for the table in use, in GemmTuning::tile order. */
napi_value Tiles(napi_env env, napi_callback_info info) {
  Call call(env, info);
  napi_value list;
  napi_create_array(env, &list);
  if (call.state().table == nullptr) return list;
  for (int i = 0; i < call.table().tileCount; i++) napi_set_element(env, list, i, call.makeString(call.table().tileNames[i]));
  return list;
}

/** tune(tile, mc, kc, nc): GEMM register tile and cache blocks for this thread (bench/gemm.ts --tune). */
napi_value Tune(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long tile = call.integer(0, "tile");
  const long mc = call.integer(1, "mc");
  const long kc = call.integer(2, "kc");
  const long nc = call.integer(3, "nc");
  if (call.failed()) return nullptr;
  if (tile >= call.table().tileCount || mc < 1 || kc < 1 || nc < 1 || mc > 65536 || kc > 65536 || nc > 65536) {
    call.fail("tune(tile, mc, kc, nc) needs a listed tile and block sizes from 1 to 65536", true);
    return nullptr;
  }
  context->tuning = GemmTuning{static_cast<int>(tile), static_cast<int>(mc), static_cast<int>(kc), static_cast<int>(nc)};
  return call.undefined();
}

/** tuning(): this thread's GEMM { tile, mc, kc, nc }. */
napi_value Tuning(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  if (call.failed()) return nullptr;
  napi_value result;
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "tile", call.makeNumber(context->tuning.tile));
  napi_set_named_property(env, result, "mc", call.makeNumber(context->tuning.mc));
  napi_set_named_property(env, result, "kc", call.makeNumber(context->tuning.kc));
  napi_set_named_property(env, result, "nc", call.makeNumber(context->tuning.nc));
  return result;
}

/** fmaPeak(iterations): { seconds (this thread's CPU time), wallSeconds, flops } of the table's FMA loop. */
napi_value FmaPeak(napi_env env, napi_callback_info info) {
  Call call(env, info);
  const long iterations = call.integer(0, "iterations");
  if (!call.failed() && call.state().table == nullptr) call.fail("this CPU has neither AVX-512F nor AVX2 with FMA", true);
  if (call.failed()) return nullptr;
  double flopsPerIteration = 0;
  double wallSeconds = 0;
  const double seconds = call.table().fmaPeak(iterations, &flopsPerIteration, &wallSeconds);
  napi_value result;
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "seconds", call.makeNumber(seconds));
  napi_set_named_property(env, result, "wallSeconds", call.makeNumber(wallSeconds));
  napi_set_named_property(env, result, "flops", call.makeNumber(flopsPerIteration * static_cast<double>(iterations)));
  return result;
}

// ---- kernels: argument order as in src/tensor/ ----

napi_value Gemm(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long M = call.integer(3, "M");
  const long K = call.integer(4, "K");
  const long N = call.integer(5, "N");
  const long flags = call.integer(6, "flags");
  float* out = call.floats(0, "out", M * N);
  const float* a = call.floats(1, "a", M * K);
  const float* b = call.floats(2, "b", K * N);
  if (call.failed()) return nullptr;
  call.table().gemm(*context, out, a, b, static_cast<int>(M), static_cast<int>(K), static_cast<int>(N), static_cast<int>(flags));
  return call.undefined();
}

napi_value FillRowsWithBias(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long N = call.integer(2, "N");
  const long C = call.integer(3, "C");
  float* out = call.floats(0, "out", N * C);
  const float* bias = call.floats(1, "bias", C);
  if (call.failed()) return nullptr;
  call.table().fillRowsWithBias(*context, out, bias, static_cast<int>(N), static_cast<int>(C));
  return call.undefined();
}

napi_value BiasBackward(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long N = call.integer(2, "N");
  const long C = call.integer(3, "C");
  float* dbias = call.floats(0, "dbias", C);
  const float* dout = call.floats(1, "dout", N * C);
  if (call.failed()) return nullptr;
  call.table().biasBackward(*context, dbias, dout, static_cast<int>(N), static_cast<int>(C));
  return call.undefined();
}

napi_value ResidualForward(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long n = call.integer(3, "n");
  float* out = call.floats(0, "out", n);
  const float* a = call.floats(1, "a", n);
  const float* b = call.floats(2, "b", n);
  if (call.failed()) return nullptr;
  call.table().residualForward(*context, out, a, b, n);
  return call.undefined();
}

napi_value GeluForward(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long n = call.integer(3, "n");
  float* out = call.floats(0, "out", n);
  float* derivative = call.floats(1, "derivative", n);
  const float* inp = call.floats(2, "inp", n);
  if (call.failed()) return nullptr;
  call.table().geluForward(*context, out, derivative, inp, n);
  return call.undefined();
}

napi_value GeluBackward(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long n = call.integer(3, "n");
  float* dinp = call.floats(0, "dinp", n);
  const float* derivative = call.floats(1, "derivative", n);
  const float* dout = call.floats(2, "dout", n);
  if (call.failed()) return nullptr;
  call.table().geluBackward(*context, dinp, derivative, dout, n);
  return call.undefined();
}

napi_value LayerNormForward(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long N = call.integer(6, "N");
  const long C = call.integer(7, "C");
  float* out = call.floats(0, "out", N * C);
  float* mean = call.floats(1, "mean", N);
  float* rstd = call.floats(2, "rstd", N);
  const float* inp = call.floats(3, "inp", N * C);
  const float* weight = call.floats(4, "weight", C);
  const float* bias = call.floats(5, "bias", C);
  if (call.failed()) return nullptr;
  call.table().layerNormForward(*context, out, mean, rstd, inp, weight, bias, static_cast<int>(N), static_cast<int>(C));
  return call.undefined();
}

napi_value LayerNormBackwardInput(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long N = call.integer(6, "N");
  const long C = call.integer(7, "C");
  float* dinp = call.floats(0, "dinp", N * C);
  const float* dout = call.floats(1, "dout", N * C);
  const float* inp = call.floats(2, "inp", N * C);
  const float* weight = call.floats(3, "weight", C);
  const float* mean = call.floats(4, "mean", N);
  const float* rstd = call.floats(5, "rstd", N);
  if (call.failed()) return nullptr;
  call.table().layerNormBackwardInput(*context, dinp, dout, inp, weight, mean, rstd, static_cast<int>(N), static_cast<int>(C));
  return call.undefined();
}

napi_value LayerNormBackwardWeight(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long N = call.integer(6, "N");
  const long C = call.integer(7, "C");
  float* dweight = call.floats(0, "dweight", C);
  float* dbias = call.floats(1, "dbias", C);
  const float* dout = call.floats(2, "dout", N * C);
  const float* inp = call.floats(3, "inp", N * C);
  const float* mean = call.floats(4, "mean", N);
  const float* rstd = call.floats(5, "rstd", N);
  if (call.failed()) return nullptr;
  call.table().layerNormBackwardWeight(*context, dweight, dbias, dout, inp, mean, rstd, static_cast<int>(N), static_cast<int>(C));
  return call.undefined();
}

napi_value SoftmaxForward(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long rows = call.integer(2, "rows");
  const long cols = call.integer(3, "cols");
  const double scale = call.number(4, "scale");
  const bool causal = call.boolean(5, "causal");
  float* out = call.floats(0, "out", rows * cols);
  const float* inp = call.floats(1, "inp", rows * cols);
  if (call.failed()) return nullptr;
  call.table().softmaxForward(*context, out, inp, static_cast<int>(rows), static_cast<int>(cols), static_cast<float>(scale), causal);
  return call.undefined();
}

napi_value SoftmaxBackward(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long rows = call.integer(3, "rows");
  const long cols = call.integer(4, "cols");
  const double scale = call.number(5, "scale");
  const bool causal = call.boolean(6, "causal");
  float* dinp = call.floats(0, "dinp", rows * cols);
  const float* out = call.floats(1, "out", rows * cols);
  const float* dout = call.floats(2, "dout", rows * cols);
  if (call.failed()) return nullptr;
  call.table().softmaxBackward(*context, dinp, out, dout, static_cast<int>(rows), static_cast<int>(cols), static_cast<float>(scale), causal);
  return call.undefined();
}

napi_value CrossEntropyForward(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long N = call.integer(3, "N");
  const long V = call.integer(4, "V");
  float* probs = call.floats(0, "probs", N * V);
  const float* logits = call.floats(1, "logits", N * V);
  const int32_t* targets = call.ints(2, "targets", N);
  call.checkIds(targets, N, V, "target");
  if (call.failed()) return nullptr;
  return call.makeNumber(call.table().crossEntropyForward(*context, probs, logits, targets, static_cast<int>(N), static_cast<int>(V)));
}

napi_value CrossEntropyBackward(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long N = call.integer(3, "N");
  const long V = call.integer(4, "V");
  const double dLossPerToken = call.number(5, "dLossPerToken");
  float* dlogits = call.floats(0, "dlogits", N * V);
  const float* probs = call.floats(1, "probs", N * V);
  const int32_t* targets = call.ints(2, "targets", N);
  call.checkIds(targets, N, V, "target");
  if (call.failed()) return nullptr;
  call.table().crossEntropyBackward(*context, dlogits, probs, targets, static_cast<int>(N), static_cast<int>(V), static_cast<float>(dLossPerToken));
  return call.undefined();
}

napi_value EmbeddingForward(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long B = call.integer(4, "B");
  const long T = call.integer(5, "T");
  const long C = call.integer(6, "C");
  float* out = call.floats(0, "out", B * T * C);
  const int32_t* tokens = call.ints(1, "tokens", B * T);
  const float* wte = call.floats(2, "wte", 0);
  const float* wpe = call.floats(3, "wpe", T * C);
  call.checkIds(tokens, B * T, C > 0 ? call.length(2) / C : 0, "token");  // rows of wte
  if (call.failed()) return nullptr;
  call.table().embeddingForward(*context, out, tokens, wte, wpe, static_cast<int>(B), static_cast<int>(T), static_cast<int>(C));
  return call.undefined();
}

napi_value EmbeddingBackward(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long B = call.integer(4, "B");
  const long T = call.integer(5, "T");
  const long C = call.integer(6, "C");
  float* dwte = call.floats(0, "dwte", 0);
  float* dwpe = call.floats(1, "dwpe", T * C);
  const float* dout = call.floats(2, "dout", B * T * C);
  const int32_t* tokens = call.ints(3, "tokens", B * T);
  call.checkIds(tokens, B * T, C > 0 ? call.length(0) / C : 0, "token");  // rows of dwte
  if (call.failed()) return nullptr;
  call.table().embeddingBackward(*context, dwte, dwpe, dout, tokens, static_cast<int>(B), static_cast<int>(T), static_cast<int>(C));
  return call.undefined();
}

/** attentionForward(y, qkvHeads, att, qkv, B, T, C, NH); the heads must divide C. */
napi_value AttentionForward(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long B = call.integer(4, "B");
  const long T = call.integer(5, "T");
  const long C = call.integer(6, "C");
  const long NH = call.integer(7, "NH");
  if (!call.failed() && (NH < 1 || C % NH != 0)) call.fail("the heads must divide C", true);
  float* y = call.floats(0, "y", B * T * C);
  float* qkvHeads = call.floats(1, "qkvHeads", 3 * B * T * C);
  float* att = call.floats(2, "att", B * NH * T * T);
  const float* qkv = call.floats(3, "qkv", B * T * 3 * C);
  if (call.failed()) return nullptr;
  call.table().attentionForward(*context, y, qkvHeads, att, qkv, static_cast<int>(B), static_cast<int>(T), static_cast<int>(C), static_cast<int>(NH));
  return call.undefined();
}

/** attentionBackward(dqkv, dy, qkvHeads, att, B, T, C, NH). */
napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long B = call.integer(4, "B");
  const long T = call.integer(5, "T");
  const long C = call.integer(6, "C");
  const long NH = call.integer(7, "NH");
  if (!call.failed() && (NH < 1 || C % NH != 0)) call.fail("the heads must divide C", true);
  float* dqkv = call.floats(0, "dqkv", B * T * 3 * C);
  const float* dy = call.floats(1, "dy", B * T * C);
  const float* qkvHeads = call.floats(2, "qkvHeads", 3 * B * T * C);
  const float* att = call.floats(3, "att", B * NH * T * T);
  if (call.failed()) return nullptr;
  call.table().attentionBackward(*context, dqkv, dy, qkvHeads, att, static_cast<int>(B), static_cast<int>(T), static_cast<int>(C), static_cast<int>(NH));
  return call.undefined();
}

/** adamwUpdate(param, grad, m, v, n, step, gradScale, learningRate, beta1, beta2, epsilon, weightDecay). */
napi_value AdamwUpdate(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long n = call.integer(4, "n");
  const double step = call.number(5, "step");
  AdamWStep hyper{};
  hyper.gradScale = call.number(6, "gradScale");
  hyper.learningRate = call.number(7, "learningRate");
  hyper.beta1 = call.number(8, "beta1");
  hyper.beta2 = call.number(9, "beta2");
  hyper.epsilon = call.number(10, "epsilon");
  hyper.weightDecay = call.number(11, "weightDecay");
  hyper.firstCorrection = 1 - std::pow(hyper.beta1, step);
  hyper.secondCorrection = 1 - std::pow(hyper.beta2, step);
  float* param = call.floats(0, "param", n);
  const float* grad = call.floats(1, "grad", n);
  float* m = call.floats(2, "m", n);
  float* v = call.floats(3, "v", n);
  if (call.failed()) return nullptr;
  call.table().adamwUpdate(*context, param, grad, m, v, n, hyper);
  return call.undefined();
}

napi_value SumOfSquares(napi_env env, napi_callback_info info) {
  Call call(env, info);
  Context* context = call.context();
  const long n = call.integer(1, "n");
  const float* x = call.floats(0, "x", n);
  if (call.failed()) return nullptr;
  return call.makeNumber(call.table().sumOfSquares(*context, x, n));
}

void DeleteState(napi_env, void* data, void*) { delete static_cast<AddonState*>(data); }

napi_value Init(napi_env env, napi_value exports) {
  auto* state = new AddonState();
  state->table = detectTable();
  napi_set_instance_data(env, state, DeleteState, nullptr);
  const struct {
    const char* name;
    napi_callback callback;
  } functions[] = {
      {"isa", Isa}, {"configure", Configure}, {"tiles", Tiles}, {"tune", Tune}, {"tuning", Tuning}, {"fmaPeak", FmaPeak},
      {"gemm", Gemm}, {"fillRowsWithBias", FillRowsWithBias}, {"biasBackward", BiasBackward},
      {"residualForward", ResidualForward}, {"geluForward", GeluForward}, {"geluBackward", GeluBackward},
      {"layerNormForward", LayerNormForward}, {"layerNormBackwardInput", LayerNormBackwardInput},
      {"layerNormBackwardWeight", LayerNormBackwardWeight}, {"softmaxForward", SoftmaxForward},
      {"softmaxBackward", SoftmaxBackward}, {"crossEntropyForward", CrossEntropyForward},
      {"crossEntropyBackward", CrossEntropyBackward}, {"embeddingForward", EmbeddingForward},
      {"embeddingBackward", EmbeddingBackward}, {"attentionForward", AttentionForward},
      {"attentionBackward", AttentionBackward}, {"adamwUpdate", AdamwUpdate}, {"sumOfSquares", SumOfSquares},
  };
  for (const auto& function : functions) {
    napi_value value;
    napi_create_function(env, function.name, NAPI_AUTO_LENGTH, function.callback, state, &value);
    napi_set_named_property(env, exports, function.name, value);
  }
  return exports;
}

}  // namespace
}  // namespace conveyor

NAPI_MODULE_INIT() { return conveyor::Init(env, exports); }
