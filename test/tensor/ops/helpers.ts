/** Test helpers shared by the kernel and model tests: seeded data, closeness, finite differences. */
import assert from 'node:assert/strict';

/** mulberry32: a small seeded uniform generator in [0, 1), independent of the code under test. */
export function seededUniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [-scale, scale). */
export function randomArray(length: number, seed: number, scale = 1): Float32Array {
  const uniform = seededUniform(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = (2 * uniform() - 1) * scale;
  return out;
}

/** Integers in [0, bound). */
export function randomIds(length: number, bound: number, seed: number): Int32Array {
  const uniform = seededUniform(seed);
  const out = new Int32Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(uniform() * bound);
  return out;
}

export function toFloat64(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values as ArrayLike<number>);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

/** |actual - expected| <= abs + rel * |expected| elementwise, naming the first element that is not. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  tolerance: { abs?: number; rel?: number } = {},
): void {
  const { abs = 1e-5, rel = 1e-5 } = tolerance;
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= abs + rel * Math.abs(e))) {
      assert.fail(`${what}[${i}] = ${a}, expected ${e} (abs ${abs}, rel ${rel})`);
    }
  }
}

/** Bitwise equality of two float arrays (distinguishes -0 and compares NaN payload-free). */
export function assertBitwiseEqual(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < e.length; i++) {
    if (a[i] !== e[i]) assert.fail(`${what}[${i}] = ${actual[i]}, expected bitwise ${expected[i]}`);
  }
}

/** d loss / d x[i] for every i by central differences; loss reads x, which is restored afterwards. */
export function numericGradient(loss: () => number, x: Float64Array, step = 1e-6): Float64Array {
  const gradient = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = x[i]!;
    x[i] = saved + step;
    const plus = loss();
    x[i] = saved - step;
    const minus = loss();
    x[i] = saved;
    gradient[i] = (plus - minus) / (2 * step);
  }
  return gradient;
}

/** Largest |value|, for tolerances relative to a gradient's scale. */
export function maxAbs(values: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]!));
  return max;
}
