/** The Gantt chart with "Play": a cursor sweeps one step and each rank says what it runs, or that it is idle. */
import { useId } from 'preact/hooks';
import { formatAction, type Schedule, type Timeline } from '../../schedule/index.js';
import { activityAt, drawSvg, kindNames, shortNumber } from '../../trace/index.js';
import { SvgChart } from '../fields.js';
import { usePlayback, type Playback } from './playback.js';

/** One line per rank: what it does at `now`. */
export function RankActivity({ timeline, ranks, now, label }: { readonly timeline: Timeline; readonly ranks: number; readonly now: number; readonly label: string }) {
  return (
    <ul class="activity" aria-label={label}>
      {Array.from({ length: ranks }, (_, rank) => {
        const activity = activityAt(timeline, rank, now);
        const text = typeof activity === 'string'
          ? activity
          : `runs ${formatAction(activity.action)} (${kindNames[activity.action.kind]}, micro-batch ${activity.action.microbatch})`;
        return <li key={rank} class={typeof activity === 'string' ? `rank-${activity}` : 'rank-busy'}>rank {rank}: {text}</li>;
      })}
    </ul>
  );
}

/** Play/Pause and a time slider for one playback. */
export function PlayControls({ playback, makespan, name }: { readonly playback: Playback; readonly makespan: number; readonly name: string }) {
  const now = playback.now ?? makespan;
  const id = useId();
  return (
    <div class="play-controls">
      <button type="button" onClick={playback.toggle} aria-label={`${playback.playing ? 'Pause' : 'Play'} ${name}`}>
        {playback.playing ? 'Pause' : 'Play'}
      </button>
      <label for={id}>Time (s) in {name}</label>
      <input
          id={id}
          type="range"
          min={0}
          max={makespan}
          step={makespan / 400 || 1}
          value={now}
          onInput={(event) => playback.seek(Number(event.currentTarget.value))}
        />
      <output aria-label={`moment shown in ${name}`}>t = {shortNumber(now)} of {shortNumber(makespan)} s</output>
    </div>
  );
}

export function PlayableChart({ schedule, timeline }: { readonly schedule: Schedule; readonly timeline: Timeline }) {
  const playback = usePlayback(timeline.makespan);
  const svg = drawSvg(schedule, timeline, playback.now === undefined ? {} : { now: playback.now });
  return (
    <section class="chart-block" aria-label="Gantt chart">
      <PlayControls playback={playback} makespan={timeline.makespan} name="the step" />
      <SvgChart svg={svg} label={`Gantt chart of ${schedule.name}`} />
      {playback.now !== undefined && <RankActivity timeline={timeline} ranks={schedule.ranks} now={playback.now} label={`What each rank of ${schedule.name} is doing`} />}
    </section>
  );
}
