/**
 * SplitMix32: a 32-bit counter passed through a strong integer mixer. Small, fast and fully determined
 * by its seed, so every batch of a run can be reproduced anywhere (Math.random cannot be seeded).
 */
export class SplitMix32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    return mix32(this.state);
  }

  /** Uniform integer in [0, bound), bound in [1, 2^32]; rejection sampling keeps it exactly uniform. */
  nextBelow(bound: number): number {
    if (!Number.isInteger(bound) || bound < 1 || bound > 2 ** 32) throw new RangeError(`bound ${bound} is not an integer in [1, 2^32]`);
    const limit = 2 ** 32 - (2 ** 32 % bound);
    let draw = this.nextUint32();
    while (draw >= limit) draw = this.nextUint32();
    return draw % bound;
  }
}

/** Murmur3's finaliser: every input bit flips about half the output bits. */
export function mix32(value: number): number {
  let z = value >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A generator for item `index` of the stream named by `seed`, independent of every other item. */
export function streamRandom(seed: number, index: number): SplitMix32 {
  return new SplitMix32(mix32(mix32(seed) ^ mix32(index + 0x632be5ab)));
}
