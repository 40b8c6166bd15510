/**
 * Deterministic parameter initialisation: every parameter's values depend only on (seed, parameter name),
 * so a rank that builds only its own units gets bitwise the values the whole model would have.
 */
import { allocFloat32 } from '../tensor/index.js';
import { UsageError } from '../errors.js';
import type { Parameter } from './parameter.js';

/** GPT-2's initial standard deviation for weight matrices and embeddings. */
export const GPT2_INIT_STD = 0.02;

export type Init = { readonly normalStd: number } | 'zeros' | 'ones';

/** A 32-bit avalanche mix (a well-tested two-multiply finaliser). */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

/** FNV-1a over the name's UTF-16 code units. */
function hashName(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** xoshiro128** seeded from (seed, name) through splitmix-style mixing. */
class ParameterRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number, name: string) {
    const low = seed >>> 0;
    const high = Math.floor(seed / 4294967296) >>> 0;
    let state = mix32(low ^ mix32(high ^ mix32(hashName(name))));
    const next = (): number => {
      state = (state + 0x9e3779b9) >>> 0;
      return mix32(state);
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next() | 1; // never the all-zero state
  }

  nextUint32(): number {
    const result = Math.imul(rotateLeft(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotateLeft(this.s3, 11);
    return result;
  }

  /** Uniform in (0, 1) with 53 random bits. */
  nextOpenUnit(): number {
    const high = this.nextUint32() >>> 5;
    const low = this.nextUint32() >>> 6;
    return (high * 67108864 + low + 0.5) / 9007199254740992;
  }
}

function rotateLeft(x: number, bits: number): number {
  return (x << bits) | (x >>> (32 - bits));
}

/** out[i] ~ N(0, std^2), by Box-Muller pairs from the (seed, name) stream. */
export function fillNormal(out: Float32Array, std: number, seed: number, name: string): void {
  const random = new ParameterRandom(seed, name);
  for (let i = 0; i < out.length; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(random.nextOpenUnit()));
    const angle = 2 * Math.PI * random.nextOpenUnit();
    out[i] = std * radius * Math.cos(angle);
    if (i + 1 < out.length) out[i + 1] = std * radius * Math.sin(angle);
  }
}

/** Seeds are non-negative safe integers (both 32-bit halves feed the stream). */
export function validateSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`seed must be a non-negative integer, got ${seed}`);
}

/** A named parameter in kernel memory with a zeroed gradient, initialised from (seed, name). */
export function createParameter(name: string, shape: readonly number[], init: Init, seed: number): Parameter {
  const length = shape.reduce((product, size) => product * size, 1);
  const data = allocFloat32(length);
  const grad = allocFloat32(length);
  grad.fill(0); // kernel memory may be recycled, so zero explicitly
  if (init === 'zeros' || init === 'ones') data.fill(init === 'ones' ? 1 : 0);
  else fillNormal(data, init.normalStd, seed, name);
  return { name, shape: [...shape], data, grad };
}
