/**
 * Waiting awake against waiting asleep: two ranks under 1F1B on the reference model, with the ranks
 * busy-polling their ports for an awaited message (the default with a core per rank) and with polling off
 * (CONVEYOR_POLL_MS=0), alternating within each round so the host's drift hits both alike.
 * Run: npm run build && node dist/bench/poll.js [steps] [rounds]
 */
import { pathToFileURL } from 'node:url';
import { median, run, steadyMean } from './pipeline.js';

async function meanStepMs(pollMs: string | undefined, steps: number): Promise<number> {
  if (pollMs === undefined) delete process.env.CONVEYOR_POLL_MS;
  else process.env.CONVEYOR_POLL_MS = pollMs;
  const result = await run(2, '1f1b', steps);
  delete process.env.CONVEYOR_POLL_MS;
  return steadyMean(result, (step) => step.stepTimeS) * 1000;
}

export async function main(steps = 6, rounds = 5): Promise<void> {
  console.log(`reference model, batch 32 = 8 micro-batches of 4, 2 ranks, 1f1b; mean step over steps 2..${steps} of each run`);
  console.log('round  polling ms  sleeping ms  sleeping/polling');
  const ratios: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const polling = await meanStepMs(undefined, steps);
    const sleeping = await meanStepMs('0', steps);
    ratios.push(sleeping / polling);
    console.log(`${String(round).padStart(5)}  ${polling.toFixed(0).padStart(10)}  ${sleeping.toFixed(0).padStart(11)}  ${(sleeping / polling).toFixed(3).padStart(16)}`);
  }
  console.log(`median sleeping/polling over ${rounds} rounds: ${median(ratios).toFixed(3)}`);
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await main(Number(process.argv[2] ?? 6), Number(process.argv[3] ?? 5));
