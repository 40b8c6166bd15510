import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSchedule, scheduleNames, type ScheduleName } from '../../src/schedule/index.js';
import { runTraining, type RunResult } from '../../src/runtime/train.js';
import { assertSameTraining, tinyConfig, tinyCorpus, tinyOptions } from './helpers.js';

async function train(schedule: ScheduleName, stages: number, flags: Record<string, unknown> = {}): Promise<RunResult> {
  const options = tinyOptions({ stages: String(stages), schedule, ...flags });
  const generated = generateSchedule(schedule, { ranks: stages, microbatches: options.microbatches });
  return runTraining({ options, config: tinyConfig(options), schedule: generated, corpus: tinyCorpus(options), start: { step: 0 } });
}

const variants = [
  { untied: false, recompute: false, stageCounts: [2, 3, 4] },
  { untied: true, recompute: false, stageCounts: [2] },
  { untied: false, recompute: true, stageCounts: [2, 3] },
  { untied: true, recompute: true, stageCounts: [2] },
];

for (const { untied, recompute, stageCounts } of variants) {
  const variant = `${untied ? 'untied' : 'tied'}${recompute ? ', recompute' : ''}`;
  test(`every schedule on ${stageCounts.join(', ')} stages trains exactly like one worker (${variant})`, async () => {
    const flags = { untied, recompute };
    const single = await train('1f1b', 1, flags);
    for (const schedule of scheduleNames) {
      for (const stages of stageCounts) {
        // zb-v and interleaved place 2 chunks per rank: 2·stages chunks must fit in 6 units.
        if ((schedule === 'zb-v' || schedule === 'interleaved-1f1b') && stages > 3) continue;
        if (schedule === 'interleaved-1f1b' && 4 % stages !== 0) continue;
        const run = await train(schedule, stages, flags);
        assertSameTraining(run, single, `${schedule} on ${stages} stages`);
        // Every schedule runs backwards in micro-batch order, so gradients sum in one worker's order: bitwise the same model.
        assert.equal(run.paramChecksum, single.paramChecksum, `${schedule} on ${stages} stages`);
      }
    }
  });
}
