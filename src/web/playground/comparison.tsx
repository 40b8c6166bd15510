/** Naive, GPipe and 1F1B for the same sizes and costs on one time scale, played together: the point of the seed. */
import { useMemo } from 'preact/hooks';
import { UsageError } from '../../errors.js';
import type { ScheduleName } from '../../schedule/index.js';
import { drawSvg, meanBubble, percent, shortNumber } from '../../trace/index.js';
import { SvgChart } from '../fields.js';
import { RankActivity, PlayControls } from './playable-chart.js';
import { usePlayback } from './playback.js';
import { buildSchedule, simulateSchedule, type PlaygroundSettings } from './simulation.js';

const compared: readonly ScheduleName[] = ['naive', 'gpipe', '1f1b'];

export function Comparison({ settings }: { readonly settings: PlaygroundSettings }) {
  const runs = useMemo(() => {
    try {
      return compared.map((name) => {
        const schedule = buildSchedule(settings, name);
        return { schedule, timeline: simulateSchedule(schedule, settings) };
      });
    } catch (error) {
      if (error instanceof UsageError) return error.message;
      throw error;
    }
  }, [settings.ranks, settings.microbatches, settings.costs, settings.comm, settings.activationMiB]);
  const span = typeof runs === 'string' ? 1 : Math.max(...runs.map((run) => run.timeline.makespan));
  const playback = usePlayback(span);
  return (
    <section class="comparison" aria-label="Naive, GPipe and 1F1B side by side">
      <h2>Naive, GPipe and 1F1B side by side</h2>
      <p class="note">
        The same {settings.ranks} ranks, {settings.microbatches} micro-batches and costs, on one time axis. Naive runs one
        micro-batch through the whole pipeline before the next, so only one rank works at a time; GPipe and 1F1B keep
        several micro-batches in flight, and 1F1B frees each activation sooner.
      </p>
      {typeof runs === 'string' ? (
        <p role="alert" class="error">{runs}</p>
      ) : (
        <>
          <PlayControls playback={playback} makespan={span} name="the comparison" />
          {runs.map(({ schedule, timeline }) => (
            <div key={schedule.name} class="compared">
              <h3>
                {schedule.name}: makespan {shortNumber(timeline.makespan)} s, bubble {percent(meanBubble(timeline))}, peak stash{' '}
                {shortNumber(Math.max(...timeline.peakActivations))} micro-batches
              </h3>
              <SvgChart svg={drawSvg(schedule, timeline, { span, ...(playback.now === undefined ? {} : { now: playback.now }) })} label={`Gantt chart of ${schedule.name}`} />
              {playback.now !== undefined && <RankActivity timeline={timeline} ranks={schedule.ranks} now={playback.now} label={`What each rank of ${schedule.name} is doing`} />}
            </div>
          ))}
        </>
      )}
    </section>
  );
}
