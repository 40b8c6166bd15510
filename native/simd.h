// Vector helpers over GCC vector extensions, sized per translation unit by CONVEYOR_VECTOR_BYTES
// (32 for AVX2, 64 for AVX-512). The same kernel source is compiled once per ISA with these types, so the
// two backends differ only in width and tile sizes. Include inside the ISA's namespace (see kernels.inc).
#pragma once

constexpr int W = CONVEYOR_VECTOR_BYTES / 4;  // floats per vector

typedef float vf __attribute__((vector_size(CONVEYOR_VECTOR_BYTES)));
typedef int vi __attribute__((vector_size(CONVEYOR_VECTOR_BYTES)));
// unaligned, aliasing views for loads and stores at any float address
typedef float vf_unaligned __attribute__((vector_size(CONVEYOR_VECTOR_BYTES), aligned(4), may_alias));

static inline vf load(const float* p) { return *reinterpret_cast<const vf_unaligned*>(p); }
static inline void store(float* p, vf v) { *reinterpret_cast<vf_unaligned*>(p) = v; }
// a shuffle of lane 0 is one broadcast instruction (0 + x would cost an add: it is not x for x = -0)
static inline vf splat(float x) { return __builtin_shuffle(vf{x}, vi{}); }
static inline vf vmax(vf a, vf b) { return a > b ? a : b; }
static inline vf vmin(vf a, vf b) { return a < b ? a : b; }

/** Lanes added in a fixed order (pairwise halves), so a reduction is the same bits on every call. */
static inline float horizontalSum(vf v) {
  float lanes[W];
  store(lanes, v);
  for (int width = W / 2; width >= 1; width /= 2)
    for (int i = 0; i < width; i++) lanes[i] += lanes[i + width];
  return lanes[0];
}

static inline float horizontalMax(vf v) {
  float lanes[W];
  store(lanes, v);
  float m = lanes[0];
  for (int i = 1; i < W; i++) m = lanes[i] > m ? lanes[i] : m;
  return m;
}

/** The first n (< W) floats of p in a vector, the other lanes `fill`; never reads past p + n. */
static inline vf loadPartial(const float* p, int n, float fill) {
  float lanes[W];
  for (int i = 0; i < W; i++) lanes[i] = i < n ? p[i] : fill;
  return load(lanes);
}

static inline void storePartial(float* p, vf v, int n) {
  float lanes[W];
  store(lanes, v);
  for (int i = 0; i < n; i++) p[i] = lanes[i];
}

/**
 * e^x in float: x = k ln2 + r with |r| <= ln2/2 (Cody-Waite, ln2 split in two), Cephes' degree-6
 * polynomial for e^r (about 1 ulp), times 2^k built in the exponent bits. x is clamped to [-87, 88],
 * where 2^k stays a normal float; callers that need exact zeros (masked columns) write them themselves.
 */
static inline vf vexp(vf x) {
  x = vmin(vmax(x, splat(-87.0f)), splat(88.0f));
  const vf shifter = splat(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer in the low bits
  const vf t = x * 1.44269504088896341f + shifter;
  const vf k = t - shifter;
  const vi ki = reinterpret_cast<vi>(t) - reinterpret_cast<vi>(shifter);
  vf r = x - k * 0.693359375f;
  r = r - k * -2.12194440e-4f;
  vf p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const vf scale = reinterpret_cast<vf>((ki + 127) << 23);
  return p * scale;
}

/**
 * tanh(u) = u P(u²) / Q(u²) on |u| <= 10 (clamped beyond, where float cannot tell tanh from ±1): the
 * degree-5/5 minimax rational of src/tensor/ops/tanh.ts, evaluated in float.
 */
static inline vf vtanh(vf u) {
  u = vmin(vmax(u, splat(-10.0f)), splat(10.0f));
  const vf s = u * u;
  vf p = splat(3.2477521974236825e-11f);
  p = p * s + 1.041348966505751e-7f;
  p = p * s + 4.102640052952685e-5f;
  p = p * s + 0.004377188674170644f;
  p = p * s + 0.14062544648285707f;
  p = p * s + 0.9999999998678325f;
  vf q = splat(2.6935601301563767e-9f);
  q = q * s + 2.488777881429807e-6f;
  q = q * s + 0.0004914805338144433f;
  q = q * s + 0.029030117134920208f;
  q = q * s + 0.4739587784605581f;
  q = q * s + 1.0f;
  return u * p / q;
}
