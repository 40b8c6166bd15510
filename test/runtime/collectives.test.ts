import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ringAllReduce, type RingLinks } from '../../src/runtime/collectives.js';

/** D replicas in one process, each a ring member whose messages go through a shared table. */
async function reduce(inputs: readonly Float32Array[]): Promise<Float32Array[]> {
  const replicas = inputs.length;
  const mail = new Map<string, { value?: Float32Array; waiter?: (value: Float32Array) => void }>();
  const slot = (key: string) => mail.get(key) ?? (mail.set(key, {}), mail.get(key)!);
  const links = (replica: number): RingLinks => ({
    send: (step, chunk) => {
      const entry = slot(`${(replica + 1) % replicas}:${step}`);
      if (entry.waiter) entry.waiter(chunk);
      else entry.value = chunk;
    },
    receive: (step, length) =>
      new Promise((resolve) => {
        const entry = slot(`${replica}:${step}`);
        const take = (value: Float32Array) => {
          assert.equal(value.length, length);
          resolve(value);
        };
        if (entry.value) take(entry.value);
        else entry.waiter = take;
      }),
  });
  const data = inputs.map((input) => input.slice());
  await Promise.all(data.map((values, replica) => ringAllReduce(values, replica, replicas, links(replica))));
  return data;
}

test('the ring sums every element across replicas, each chunk in its fixed order, the same bits on every replica', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 23 }), fc.integer(), async (replicas, length, seed) => {
      let state = seed >>> 0;
      const random = () => ((state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 10;
      const inputs = Array.from({ length: replicas }, () => Float32Array.from({ length }, random));
      const outputs = await reduce(inputs);
      for (let i = 0; i < length; i++) {
        // the element's chunk c is summed starting at replica c, then c+1, … (float32 after every addition)
        const owner = [...Array(replicas).keys()].find((k) => Math.floor((k * length) / replicas) <= i && i < Math.floor(((k + 1) * length) / replicas))!;
        let sum = inputs[owner]![i]!;
        for (let k = 1; k < replicas; k++) sum = Math.fround(sum + inputs[(owner + k) % replicas]![i]!);
        for (const output of outputs) assert.equal(output[i], sum, `element ${i} of ${length} over ${replicas} replicas`);
      }
    }),
  );
});
