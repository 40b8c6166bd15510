/**
 * The terminal run tab: the events of `conveyor train --lab` over server-sent events, each read with its zod
 * schema before it is drawn.
 */
import { useEffect, useState } from 'preact/hooks';
import { labEventSchemas, labEventTypes, type LabEvent } from './events.js';
import { applyEvent, emptyRun, type RunState } from './run-state.js';
import { RunView } from './run-view.js';

type Connection = 'connecting' | 'open' | 'unavailable' | 'closed';

export function WatchTab() {
  const [run, setRun] = useState<RunState>(emptyRun);
  const [connection, setConnection] = useState<Connection>('connecting');
  const [problem, setProblem] = useState<string | undefined>();
  useEffect(() => {
    const source = new EventSource('api/events');
    let ended = false;
    source.onopen = () => setConnection('open');
    source.onerror = () => {
      // A static copy has no stream at all; a run's own server closes when the run ends.
      if (ended || source.readyState === EventSource.CLOSED) {
        source.close();
        setConnection(ended ? 'closed' : 'unavailable');
      }
    };
    for (const type of labEventTypes) {
      source.addEventListener(type, (message: MessageEvent<string>) => {
        const parsed = labEventSchemas[type].safeParse(JSON.parse(message.data));
        if (!parsed.success) {
          setProblem(`a '${type}' event did not have the expected shape: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
          return;
        }
        ended = type === 'end' || type === 'failed' ? true : type === 'run' ? false : ended;
        setRun((current) => applyEvent(current, { type, data: parsed.data } as LabEvent));
      });
    }
    return () => source.close();
  }, []);
  return (
    <div class="watch">
      <p class="note">
        A training run in a terminal streams here when started with <code>npx conveyor train --lab</code> (or{' '}
        <code>--lab-port P</code>): it serves this page itself, or, when <code>conveyor lab</code> already runs on that port,
        posts its steps to it. A page opened mid-run is sent the run so far.
      </p>
      <p role="status" class="connection">
        {connection === 'connecting' && 'connecting to the lab server…'}
        {connection === 'open' && (run.start ? 'connected' : 'connected; no run has started yet')}
        {connection === 'unavailable' && 'no lab server answers here (a static copy of the page): run conveyor lab or conveyor train --lab to watch a run'}
        {connection === 'closed' && 'the run is over and its server has closed; the figures stay'}
      </p>
      {problem && <p role="alert" class="error">{problem}</p>}
      {(run.start || run.latest) && <RunView run={run} name="terminal run" />}
    </div>
  );
}
