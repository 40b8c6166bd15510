import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateTokens, lastPosition, sampleToken } from '../../src/data/sampling.js';
import { SplitMix32 } from '../../src/data/random.js';

/** Draw frequencies must match the expected distribution within 4 standard deviations. */
function assertDrawsFollow(probabilities: number[], temperature: number, expected: number[]): void {
  const random = new SplitMix32(12);
  const draws = 20_000;
  const counts = new Array<number>(probabilities.length).fill(0);
  for (let i = 0; i < draws; i++) counts[sampleToken(Float32Array.from(probabilities), temperature, random)]!++;
  expected.forEach((p, id) => {
    const sd = Math.sqrt(draws * p * (1 - p));
    assert.ok(Math.abs(counts[id]! - draws * p) <= 4 * sd, `token ${id}: ${counts[id]} draws, expected ${draws * p}`);
  });
}

test('sampling follows the probabilities, sharpened or flattened by the temperature, and never picks an impossible token', () => {
  assertDrawsFollow([0.1, 0.2, 0, 0.7], 1, [0.1, 0.2, 0, 0.7]);
  assertDrawsFollow([0.1, 0.2, 0, 0.7], 0.5, [1 / 54, 4 / 54, 0, 49 / 54]); // p^2, renormalised
  const flattened = [0.1, 0.2, 0.7].map((p) => Math.sqrt(p));
  const total = flattened.reduce((a, b) => a + b);
  assertDrawsFollow([0.1, 0.2, 0.7], 2, flattened.map((w) => w / total));
});

test('generation extends the prompt from the most recent contextLength tokens; temperature 0 is greedy', () => {
  const V = 7;
  const seen: number[][] = [];
  // A hand-made model: the next token is (sum of the context) mod V, with certainty.
  const model = (context: Int32Array) => {
    seen.push([...context]);
    const probabilities = new Float32Array(V);
    probabilities[context.reduce((a, b) => a + b, 0) % V] = 1;
    return probabilities;
  };
  const generated = generateTokens(Int32Array.of(1, 2), { count: 4, temperature: 0, seed: 0, contextLength: 3 }, model);
  // contexts: [1,2] -> 3; [1,2,3] -> 6; [2,3,6] -> 4; [3,6,4] -> 6
  assert.deepEqual([...generated], [3, 6, 4, 6]);
  assert.deepEqual(seen, [[1, 2], [1, 2, 3], [2, 3, 6], [3, 6, 4]]);
  assert.deepEqual([...generateTokens(Int32Array.of(1), { count: 0, temperature: 1, seed: 0, contextLength: 3 }, model)], []);
  // A certain model leaves nothing to chance at any temperature.
  assert.deepEqual([...generateTokens(Int32Array.of(1, 2), { count: 4, temperature: 1.5, seed: 9, contextLength: 3 }, model)], [3, 6, 4, 6]);
});

test('lastPosition picks position length-1 of every row', () => {
  const values = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i); // [rows 2, length 3, width 4]
  assert.deepEqual([...lastPosition(values, 2, 3, 4)], [8, 9, 10, 11, 20, 21, 22, 23]);
  assert.throws(() => lastPosition(values, 2, 4, 4), RangeError);
});
