/** One training run on the page: its loss curve, its figures, and its latest step as measured beside the simulator's prediction. */
import { drawSvg, meanBubble, percent, shortNumber } from '../../trace/index.js';
import { SvgChart } from '../fields.js';
import { LossChart } from './loss-chart.js';
import type { RunState } from './run-state.js';

export function RunView({ run, name }: { readonly run: RunState; readonly name: string }) {
  const { start, schedule, latest, measured, predicted } = run;
  // One time axis for both charts, so the measured step's extra length shows.
  const span = Math.max(measured?.makespan ?? 0, predicted?.makespan ?? 0);
  return (
    <section class="run-view" aria-label={name}>
      {start && <p class="run-description">{start.description} · {schedule?.name} on {schedule?.ranks} ranks, {start.steps} steps</p>}
      <p class="run-figures">
        {latest ? (
          <>
            step <output aria-label={`${name}: step`}>{latest.step}</output> of {start?.steps ?? '?'} · loss{' '}
            <output aria-label={`${name}: loss`}>{latest.loss.toFixed(4)}</output> · {Math.round(latest.tokensPerS).toLocaleString('en-US')} tokens/s ·{' '}
            {(latest.stepTimeS * 1000).toFixed(0)} ms per step
          </>
        ) : (
          'waiting for the first step…'
        )}
        {run.end && (
          <>
            {' '}· finished, validation loss <output aria-label={`${name}: validation loss`}>{run.end.valLoss.toFixed(4)}</output> · parameters
            sha256 <output class="checksum" aria-label={`${name}: parameters sha256`} title={run.end.paramChecksum}>{run.end.paramChecksum}</output>
          </>
        )}
      </p>
      {run.failure && <p role="alert" class="error">{run.failure}</p>}
      <LossChart steps={run.stepNumbers} losses={run.losses} label={`${name}: loss curve`} />
      {schedule && measured && predicted && (
        <div class="timelines">
          <h3>
            step {run.measuredStep}, measured: makespan {(measured.makespan * 1000).toFixed(1)} ms, bubble {percent(meanBubble(measured))}
          </h3>
          <SvgChart svg={drawSvg(schedule, measured, { span })} label={`${name}: measured step`} />
          <h3>
            the simulator's prediction from the same step's measured costs: makespan {(predicted.makespan * 1000).toFixed(1)} ms, bubble{' '}
            {percent(meanBubble(predicted))} ({shortNumber(measured.makespan / predicted.makespan)}× as long measured)
          </h3>
          <SvgChart svg={drawSvg(schedule, predicted, { span })} label={`${name}: predicted step`} />
        </div>
      )}
    </section>
  );
}
