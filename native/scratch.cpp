#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "kernels.h"

namespace conveyor {

Scratch::Scratch(int threads) : buffers_(threads) {
  for (auto& slots : buffers_) slots.resize(kScratchSlots);
}

float* Scratch::get(int thread, int slot, long floats) {
  Buffer& buffer = buffers_[thread][slot];
  if (floats > buffer.floats) {
    // grow to at least double, rounded to whole cache lines, so a slowly growing request allocates rarely
    const long size = std::max(floats, 2 * buffer.floats);
    const size_t bytes = (static_cast<size_t>(size) * sizeof(float) + 63) / 64 * 64;
    void* memory = std::aligned_alloc(64, bytes);
    if (memory == nullptr) {
      std::fprintf(stderr, "conveyor: the native kernels could not allocate %zu bytes of scratch\n", bytes);
      std::abort();
    }
    buffer.data = std::unique_ptr<float, void (*)(void*)>(static_cast<float*>(memory), std::free);
    buffer.floats = size;
  }
  return buffer.data.get();
}

}  // namespace conveyor
