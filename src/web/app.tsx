/** The lab's shell: one tab per room, chosen by the URL's hash so a link (or `conveyor train --lab`) opens the right one. */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { Playground } from './playground/playground.js';
import { PlannerTab } from './planner/planner-tab.js';
import { TrainTab } from './train/train-tab.js';
import { WatchTab } from './watch/watch-tab.js';

interface Tab {
  readonly id: string;
  readonly label: string;
  readonly panel: () => ComponentChildren;
}

const tabs: readonly Tab[] = [
  { id: 'schedules', label: 'Schedules', panel: () => <Playground /> },
  { id: 'planner', label: 'Planner', panel: () => <PlannerTab /> },
  { id: 'train', label: 'Train', panel: () => <TrainTab /> },
  { id: 'watch', label: 'Terminal run', panel: () => <WatchTab /> },
];

const tabFromHash = (): string => {
  const id = window.location.hash.slice(1);
  return tabs.some((tab) => tab.id === id) ? id : tabs[0]!.id;
};

export function App() {
  const [active, setActive] = useState(tabFromHash);
  const buttons = useRef<(HTMLButtonElement | null)[]>([]);
  useEffect(() => {
    const follow = () => setActive(tabFromHash());
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, []);
  const choose = (id: string) => {
    setActive(id);
    history.replaceState(null, '', `#${id}`);
  };
  // Arrow keys move between tabs, as the ARIA tabs pattern expects.
  const onKeyDown = (event: KeyboardEvent, index: number) => {
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (step === 0) return;
    const next = (index + step + tabs.length) % tabs.length;
    choose(tabs[next]!.id);
    buttons.current[next]?.focus();
  };
  return (
    <>
      <header>
        <h1>Conveyor lab</h1>
        <p class="tagline">Pipeline parallelism you can see: schedules, cluster plans, and a GPT trained across Web Workers.</p>
        <nav role="tablist" aria-label="Lab sections">
          {tabs.map((tab, index) => (
            <button
              key={tab.id}
              ref={(element) => { buttons.current[index] = element; }}
              role="tab"
              id={`tab-${tab.id}`}
              aria-selected={active === tab.id}
              aria-controls={`panel-${tab.id}`}
              tabIndex={active === tab.id ? 0 : -1}
              onClick={() => choose(tab.id)}
              onKeyDown={(event) => onKeyDown(event, index)}
            >
              {tab.label}
            </button>
          ))}
        </nav>
      </header>
      <main>
        {/* Every panel stays mounted, so a search or a training run goes on while another tab is shown. */}
        {tabs.map((tab) => (
          <div key={tab.id} role="tabpanel" id={`panel-${tab.id}`} aria-labelledby={`tab-${tab.id}`} hidden={active !== tab.id}>
            {tab.panel()}
          </div>
        ))}
      </main>
    </>
  );
}
