/**
 * Schedule engine speed: generate, validate and simulate for a few sizes.
 * Prints the fastest of several repeats (the machine is shared, so the minimum is the least disturbed figure).
 * Run: npm run build && node dist/bench/schedule.js
 */
import { pathToFileURL } from 'node:url';
import { generateSchedule, simulate, uniformCosts, validateSchedule, type ScheduleName } from '../src/schedule/index.js';

const repeats = 7;

function fastestMilliseconds(work: () => void): number {
  let fastest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    work();
    fastest = Math.min(fastest, performance.now() - start);
  }
  return fastest;
}

const cases: [ScheduleName, number, number][] = [
  ['1f1b', 8, 64],
  ['1f1b', 16, 256],
  ['1f1b', 64, 1024],
  ['gpipe', 64, 1024],
  ['interleaved-1f1b', 64, 1024],
  ['zb-h1', 64, 1024],
  ['zb-v', 64, 1024],
];

export function main(): void {
  console.log(`schedule engine, fastest of ${repeats} runs (ms); uniform costs f=1 b=2 i=1 w=1, no message time`);
  console.log('schedule          ranks  microbatches   actions  generate  validate  simulate     total');
  for (const [name, ranks, microbatches] of cases) {
    const schedule = generateSchedule(name, { ranks, microbatches });
    const costs = uniformCosts(schedule, { F: 1, B: 2, I: 1, W: 1 });
    const actions = schedule.order.reduce((total, list) => total + list.length, 0);
    const generate = fastestMilliseconds(() => generateSchedule(name, { ranks, microbatches }));
    const validate = fastestMilliseconds(() => validateSchedule(schedule));
    const simulation = fastestMilliseconds(() => simulate(schedule, costs));
    const total = fastestMilliseconds(() => {
      const generated = generateSchedule(name, { ranks, microbatches });
      validateSchedule(generated);
      simulate(generated, uniformCosts(generated, { F: 1, B: 2, I: 1, W: 1 }));
    });
    const cells = [generate, validate, simulation, total].map((ms) => ms.toFixed(1).padStart(9));
    console.log(`${name.padEnd(17)} ${String(ranks).padStart(5)} ${String(microbatches).padStart(13)} ${String(actions).padStart(9)} ${cells.join(' ')}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
