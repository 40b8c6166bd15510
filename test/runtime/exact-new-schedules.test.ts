// dualpipe-v and zb-h2 in Conveyor's own runtime train exactly like one worker, as exact.test.ts checks the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSchedule, type ScheduleName } from '../../src/schedule/index.js';
import { runTraining, type RunResult } from '../../src/runtime/train.js';
import { tinyConfig, tinyCorpus, tinyOptions } from './helpers.js';

async function train(schedule: ScheduleName, stages: number, flags: Record<string, unknown> = {}): Promise<RunResult> {
  const options = tinyOptions({ stages: String(stages), schedule, ...flags });
  const generated = generateSchedule(schedule, { ranks: stages, microbatches: options.microbatches });
  return runTraining({ options, config: tinyConfig(options), schedule: generated, corpus: tinyCorpus(options), start: { step: 0 } });
}

const variants = [
  { untied: false, recompute: false },
  { untied: true, recompute: false },
  { untied: false, recompute: true },
];

for (const flags of variants) {
  const label = `${flags.untied ? 'untied' : 'tied'}${flags.recompute ? ', recompute' : ''}`;
  test(`dualpipe-v on 2 ranks and zb-h2 on 2, 3 and 4 ranks train bit for bit like one worker (${label})`, async () => {
    const single = await train('1f1b', 1, flags);
    const runs: [ScheduleName, number][] = [['dualpipe-v', 2], ['zb-h2', 2], ['zb-h2', 3], ['zb-h2', 4]];
    for (const [schedule, stages] of runs) {
      const run = await train(schedule, stages, flags);
      assert.deepEqual(run.steps.map((step) => step.loss), single.steps.map((step) => step.loss), `${schedule} on ${stages} ranks: losses`);
      // Each stage's weight gradients still sum in micro-batch order (B, or I then W in I's order): the same bits.
      assert.equal(run.paramChecksum, single.paramChecksum, `${schedule} on ${stages} ranks`);
    }
  });
}
