/** Random sizes that each catalogue schedule accepts, for the property tests. */
import fc from 'fast-check';
import { catalogueEntry, catalogueNames, generateSchedule, type Schedule } from '../../src/schedule/index.js';

/** Any catalogue schedule on 1..maxRanks ranks, with micro-batches its rules allow. */
export function generatedSchedule(maxRanks = 5): fc.Arbitrary<Schedule> {
  return fc
    .record({
      name: fc.constantFrom(...catalogueNames),
      ranks: fc.integer({ min: 1, max: maxRanks }),
      groups: fc.integer({ min: 1, max: 4 }),
      extra: fc.integer({ min: 0, max: 4 }),
      chunks: fc.integer({ min: 2, max: 4 }),
    })
    .map(({ name, ranks, groups, extra, chunks }) => {
      const entry = catalogueEntry(name);
      const fewest = Math.max(1, entry.minMicrobatchesPerRank * ranks);
      const microbatches = entry.microbatchesMultipleOfRanks ? ranks * groups : fewest + groups - 1 + extra;
      return generateSchedule(name, { ranks, microbatches, ...(entry.chunks.max > entry.chunks.min ? { chunks } : {}) });
    });
}
