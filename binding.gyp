# The native kernels (native/), built from source by node-gyp at install time (scripts/build-native.mjs).
# Each instruction set is its own static library with its own flags, so only the kernels the CPU check
# picks at run time execute AVX2 or AVX-512 code; the addon itself is baseline x86-64.
{
  "target_defaults": {
    "cflags_cc": ["-std=gnu++17", "-O3", "-fPIC", "-ffp-contract=fast", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++14", "-std=gnu++1y"],
  },
  "conditions": [
    ['target_arch=="x64" and OS=="linux"', {
      "targets": [
        {
          "target_name": "kernels_avx2",
          "type": "static_library",
          "sources": ["native/isa/avx2.cpp"],
          "cflags_cc": ["-mavx2", "-mfma"],
        },
        {
          "target_name": "kernels_avx512",
          "type": "static_library",
          "sources": ["native/isa/avx512.cpp"],
          "cflags_cc": ["-mavx512f", "-mavx2", "-mfma"],
        },
        {
          "target_name": "kernels_avx512_on_avx2",
          "type": "static_library",
          "sources": ["native/isa/avx512-on-avx2.cpp"],
          "cflags_cc": ["-mavx2", "-mfma", "-Wno-psabi"],
        },
        {
          "target_name": "conveyor_native",
          "sources": ["native/addon.cpp", "native/pool.cpp", "native/scratch.cpp"],
          "dependencies": ["kernels_avx2", "kernels_avx512", "kernels_avx512_on_avx2"],
          "libraries": ["-pthread"],
          "cflags_cc": ["-pthread"],
        },
      ],
    }, {
      # other systems build nothing: the WebAssembly kernels serve them
      "targets": [{"target_name": "conveyor_native", "type": "none"}],
    }],
  ],
}
