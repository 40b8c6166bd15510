/** The numbers beside the chart: the theory's formula next to the simulated bubble, and a row per rank. */
import type { Schedule, Theory, Timeline } from '../../schedule/index.js';
import { idleWithin, meanBubble, percent, shortNumber } from '../../trace/index.js';

const MiB = 2 ** 20;

interface TheoryNoteProps {
  readonly schedule: Schedule;
  readonly timeline: Timeline;
  readonly theory: Theory | undefined;
  readonly comm: number;
  readonly custom: boolean;
}

export function TheoryNote({ schedule, timeline, theory, comm, custom }: TheoryNoteProps) {
  const simulated = meanBubble(timeline);
  return (
    <section class="theory" aria-label="Bubble: simulated and theory">
      <p>
        <strong>Makespan</strong> <output aria-label="makespan">{shortNumber(timeline.makespan)} s</output>
        {' · '}
        <strong>Bubble, simulated</strong> <output aria-label="simulated bubble">{percent(simulated)}</output> (mean over {schedule.ranks} ranks)
      </p>
      {custom || theory === undefined ? (
        <p>A custom schedule has no closed form: the simulation is the figure.</p>
      ) : theory.firstRankIdle ? (
        <p>
          <strong>Theory</strong> counts rank 0's idle time between its first and its last action:{' '}
          <code>{theory.firstRankIdle.formula}</code>
          {theory.firstRankIdle.seconds === undefined ? (
            <> holds when {theory.conditions}; these settings do not meet that.</>
          ) : (
            <> = <output aria-label="theory idle on rank 0">{shortNumber(theory.firstRankIdle.seconds)} s</output>, simulated{' '}
              <output aria-label="simulated idle on rank 0">{shortNumber(idleWithin(timeline, 0))} s</output>, when {theory.conditions}.</>
          )}
          {comm > 0 && ' The formula leaves communication out.'}
          {' '}<span class="source">({theory.source}; peak stash {theory.peakFormula})</span>
        </p>
      ) : (
        <p>
          <strong>Theory</strong> <code>{theory.bubbleFormula}</code>
          {theory.bubble === undefined ? (
            <> holds when {theory.conditions}; these settings do not meet that.</>
          ) : (
            <> = <output aria-label="theory bubble">{percent(theory.bubble)}</output> on every rank{theory.conditions === 'none' ? '' : `, when ${theory.conditions}`}.</>
          )}
          {comm > 0 && ' The formula leaves communication out, so the simulation, which sends each message in the time set above, comes out longer.'}
          {' '}<span class="source">({theory.source}; peak stash {theory.peakFormula})</span>
        </p>
      )}
    </section>
  );
}

export function RankTable({ timeline, theory }: { readonly timeline: Timeline; readonly theory: Theory | undefined }) {
  return (
    <table class="ranks" aria-label="Per-rank bubble and peak activation memory">
      <thead>
        <tr>
          <th scope="col">rank</th>
          <th scope="col">busy (s)</th>
          <th scope="col">bubble, simulated</th>
          <th scope="col">bubble, theory</th>
          <th scope="col">peak stash (micro-batches), simulated</th>
          <th scope="col">peak stash, theory</th>
          <th scope="col">peak activation memory</th>
        </tr>
      </thead>
      <tbody>
        {timeline.busy.map((busy, rank) => (
          <tr key={rank}>
            <th scope="row">{rank}</th>
            <td>{shortNumber(busy)}</td>
            <td>{percent(timeline.bubbleFraction[rank]!)}</td>
            <td>{theory?.bubble === undefined ? '–' : percent(theory.bubble)}</td>
            <td>{shortNumber(timeline.peakActivations[rank]!)}</td>
            <td>{theory?.peak === undefined ? '–' : shortNumber(theory.peak[rank]!)}</td>
            <td>{(timeline.peakActivationBytes[rank]! / MiB).toFixed(0)} MiB</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
