// Invariants over random sizes and costs, checked by code written here rather than by the code under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UsageError } from '../../src/errors.js';
import {
  formatSchedule,
  isCompute,
  parseSchedule,
  simulate,
  validateSchedule,
  type Action,
  type ActionKind,
  type CostModel,
  type Schedule,
  type Timeline,
  type TimelineEvent,
} from '../../src/schedule/index.js';
import { generatedSchedule } from './arbitrary.js';

const runs = { numRuns: 150 };

const generated = generatedSchedule(6);

/** Per-stage costs in quarter seconds, messages in half seconds: exact in binary floating point. */
function costsFor(schedule: Schedule): fc.Arbitrary<CostModel> {
  const perStage = fc.array(fc.integer({ min: 1, max: 20 }).map((q) => q / 4), {
    minLength: schedule.stages,
    maxLength: schedule.stages,
  });
  return fc.record({
    duration: fc.record({ F: perStage, B: perStage, I: perStage, W: perStage }),
    commSeconds: fc.array(fc.integer({ min: 0, max: 6 }).map((h) => h / 2), {
      minLength: schedule.stages - 1,
      maxLength: schedule.stages - 1,
    }),
    activationBytes: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: schedule.stages, maxLength: schedule.stages }),
  });
}

const withCosts = generated.chain((schedule) => costsFor(schedule).map((costs) => ({ schedule, costs })));

const key = (kind: string, stage: number, microbatch: number): string => `${kind}${stage}.${microbatch}`;

function assertDoneExactlyOnce(schedule: Schedule): void {
  const seen = new Map<string, number>();
  schedule.order.forEach((actions, rank) => {
    for (const a of actions) {
      assert.equal(schedule.placement[a.stage], rank, 'each action runs on its stage\'s rank');
      seen.set(key(a.kind, a.stage, a.microbatch), (seen.get(key(a.kind, a.stage, a.microbatch)) ?? 0) + 1);
    }
  });
  for (let stage = 0; stage < schedule.stages; stage++) {
    for (let microbatch = 0; microbatch < schedule.microbatches; microbatch++) {
      const count = (kind: string): number => seen.get(key(kind, stage, microbatch)) ?? 0;
      assert.equal(count('F'), 1);
      const whole = count('B') === 1 && count('I') === 0 && count('W') === 0;
      const split = count('B') === 0 && count('I') === 1 && count('W') === 1;
      assert.ok(whole || split, `stage ${stage} micro-batch ${microbatch}: one B, or one I and one W`);
    }
  }
}

/** Longest chain of data dependencies, ignoring that a rank runs one action at a time. */
function criticalPath(schedule: Schedule, costs: CostModel): number {
  const split = new Set(schedule.order.flat().filter((a) => a.kind === 'I').map((a) => key('I', a.stage, a.microbatch)));
  const crossing = (boundary: number): number =>
    schedule.placement[boundary] === schedule.placement[boundary + 1] ? 0 : costs.commSeconds[boundary]!;
  let longest = 0;
  for (let microbatch = 0; microbatch < schedule.microbatches; microbatch++) {
    const forwardEnd: number[] = [];
    for (let stage = 0; stage < schedule.stages; stage++) {
      const arrival = stage === 0 ? 0 : forwardEnd[stage - 1]! + crossing(stage - 1);
      forwardEnd.push(arrival + costs.duration.F[stage]!);
    }
    let gradientEnd = 0;
    for (let stage = schedule.stages - 1; stage >= 0; stage--) {
      const isSplit = split.has(key('I', stage, microbatch));
      const arrival = stage === schedule.stages - 1 ? 0 : gradientEnd + crossing(stage);
      gradientEnd = Math.max(forwardEnd[stage]!, arrival) + (isSplit ? costs.duration.I : costs.duration.B)[stage]!;
      longest = Math.max(longest, gradientEnd + (isSplit ? costs.duration.W[stage]! : 0));
    }
  }
  return longest;
}

/**
 * Every event waits for its inputs, never overlaps its rank's previous one, and starts as early as both allow.
 * An overlapped pair starts when the inputs of both its actions are there, and its outputs leave when it ends.
 */
function assertCausalAndTight(schedule: Schedule, costs: CostModel, timeline: Timeline): void {
  const compute = timeline.events.filter((event): event is TimelineEvent & { action: Action } => isCompute(event.action));
  const released = new Map<string, { rank: number; end: number }>(); // when each action's output leaves its rank
  schedule.order.forEach((_, rank) => {
    const events = compute.filter((e) => e.rank === rank);
    const pairs = new Set(schedule.overlaps?.[rank] ?? []);
    events.forEach((event, position) => {
      const pairEnd = pairs.has(position) ? events[position + 1]!.end : event.end;
      released.set(key(event.action.kind, event.action.stage, event.action.microbatch), { rank, end: pairEnd });
    });
  });
  const inputGradient = (stage: number, microbatch: number) =>
    released.get(key('B', stage, microbatch)) ?? released.get(key('I', stage, microbatch))!;
  const inputsOf = (a: Action): { rank: number; end: number; boundary: number }[] => {
    if (a.kind === 'F') return a.stage === 0 ? [] : [{ ...released.get(key('F', a.stage - 1, a.microbatch))!, boundary: a.stage - 1 }];
    if (a.kind === 'W') return [{ ...released.get(key('I', a.stage, a.microbatch))!, boundary: -1 }];
    const own = { ...released.get(key('F', a.stage, a.microbatch))!, boundary: -1 };
    if (a.stage === schedule.stages - 1) return [own];
    return [own, { ...inputGradient(a.stage + 1, a.microbatch), boundary: a.stage }];
  };
  schedule.order.forEach((actions, rank) => {
    const events = compute.filter((e) => e.rank === rank);
    const pairs = new Set(schedule.overlaps?.[rank] ?? []);
    assert.deepEqual(events.map((e) => e.action), actions, 'events follow the rank\'s order');
    let previousEnd = 0;
    events.forEach((event, position) => {
      const kind: ActionKind = event.action.kind;
      assert.equal(event.end - event.start, costs.duration[kind][event.action.stage]);
      let earliest = previousEnd;
      const together = pairs.has(position) ? [event, events[position + 1]!] : pairs.has(position - 1) ? [] : [event];
      for (const member of together) {
        for (const input of inputsOf(member.action)) {
          const delay = input.rank === rank ? 0 : costs.commSeconds[input.boundary]!;
          earliest = Math.max(earliest, input.end + delay);
        }
      }
      assert.equal(event.start, earliest, 'starts exactly when its rank is free and its inputs have arrived');
      previousEnd = event.end;
    });
  });
}

function peakStashByHand(schedule: Schedule): number[] {
  return schedule.order.map((actions, rank) => {
    const chunks = schedule.placement.filter((owner) => owner === rank).length;
    let held = 0;
    let peak = 0;
    for (const a of actions) {
      if (a.kind === 'F') peak = Math.max(peak, ++held);
      if (a.kind === 'B' || a.kind === 'W') held--;
    }
    return peak / chunks;
  });
}

test('the validator accepts every generated schedule, and each (stage, micro-batch) is done exactly once', () => {
  fc.assert(
    fc.property(generated, (schedule) => {
      validateSchedule(schedule);
      assertDoneExactlyOnce(schedule);
    }),
    runs,
  );
});

test('simulated timelines are causal and tight; makespan ≥ critical path; bubbles in [0, 1); stash as counted by hand', () => {
  fc.assert(
    fc.property(withCosts, ({ schedule, costs }) => {
      const timeline = simulate(schedule, costs);
      assertCausalAndTight(schedule, costs, timeline);
      assert.ok(timeline.makespan >= criticalPath(schedule, costs));
      assert.ok(timeline.makespan >= Math.max(...timeline.busy));
      for (const fraction of timeline.bubbleFraction) assert.ok(fraction >= 0 && fraction < 1, `bubble ${fraction}`);
      assert.deepEqual(timeline.peakActivations, peakStashByHand(schedule));
    }),
    runs,
  );
});

/** A random schedule that some global order can run: append random ready actions to their ranks. */
const custom = fc
  .record({
    ranks: fc.integer({ min: 1, max: 4 }),
    placementSeeds: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
    microbatches: fc.integer({ min: 1, max: 4 }),
    splitSeeds: fc.array(fc.boolean(), { minLength: 24, maxLength: 24 }),
    picks: fc.array(fc.nat(), { minLength: 100, maxLength: 100 }),
  })
  .map(({ ranks, placementSeeds, microbatches, splitSeeds, picks }): Schedule => {
    const stages = placementSeeds.length;
    const placement = placementSeeds.map((seed, stage) => (stage < ranks ? stage : seed % ranks));
    const usedRanks = Math.max(...placement) + 1;
    const done = new Set<string>();
    const remaining: Action[] = [];
    for (let stage = 0; stage < stages; stage++) {
      for (let microbatch = 0; microbatch < microbatches; microbatch++) {
        const split = splitSeeds[(stage * microbatches + microbatch) % splitSeeds.length]!;
        const kinds: ActionKind[] = split ? ['F', 'I', 'W'] : ['F', 'B'];
        for (const kind of kinds) remaining.push({ kind, stage, microbatch });
      }
    }
    const ready = (a: Action): boolean => {
      const has = (kind: string, stage: number) => done.has(key(kind, stage, a.microbatch));
      if (a.kind === 'F') return a.stage === 0 || has('F', a.stage - 1);
      if (a.kind === 'W') return has('I', a.stage);
      const downstream = a.stage === stages - 1 || has('B', a.stage + 1) || has('I', a.stage + 1);
      return has('F', a.stage) && downstream;
    };
    const order: Action[][] = Array.from({ length: usedRanks }, () => []);
    let step = 0;
    while (remaining.length > 0) {
      const candidates = remaining.filter(ready);
      const chosen = candidates[picks[step++ % picks.length]! % candidates.length]!;
      remaining.splice(remaining.indexOf(chosen), 1);
      done.add(key(chosen.kind, chosen.stage, chosen.microbatch));
      order[placement[chosen.stage]!]!.push(chosen);
    }
    return { name: 'random', ranks: usedRanks, stages, microbatches, placement, order };
  });

test('any schedule some global order can run simulates; the blocking check accepts it or names a deadlock', () => {
  fc.assert(
    fc.property(custom, (schedule) => {
      const costs: CostModel = {
        duration: { F: schedule.placement.map(() => 1), B: schedule.placement.map(() => 2), I: schedule.placement.map(() => 1), W: schedule.placement.map(() => 1) },
        commSeconds: schedule.placement.slice(1).map(() => 0.5),
        activationBytes: schedule.placement.map(() => 1),
      };
      const timeline = simulate(schedule, costs);
      assertCausalAndTight(schedule, costs, timeline);
      try {
        validateSchedule(schedule);
        assert.deepEqual(parseSchedule(formatSchedule(schedule)).order, schedule.order);
      } catch (error) {
        assert.ok(error instanceof UsageError && error.message.startsWith('deadlock: rank '), String(error));
      }
    }),
    runs,
  );
});
