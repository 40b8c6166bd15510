/**
 * The train tab: the reference GPT trained here, one Web Worker per rank, by the same runtime, schedules and
 * WebAssembly kernels as `conveyor train`. A driver worker runs the training loop and reports the same
 * events a terminal run streams, so the same view shows them.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import gemmUrl from '../../../build/gemm.wasm?url';
import { catalogueNames } from '../../schedule/index.js';
import { NumberField, SelectField } from '../fields.js';
import { applyEvent, emptyRun, type RunState } from '../watch/run-state.js';
import { RunView } from '../watch/run-view.js';
import { browserDefaults, type BrowserTrainRequest, type DriverPost } from './train-request.js';

type Settings = Omit<BrowserTrainRequest, 'kernels'>;

const scheduleOptions = catalogueNames.map((name) => ({ value: name, label: name }));

/** The fields, each labelled with the `conveyor train` flag it stands for. */
const fields: readonly { readonly key: Exclude<keyof Settings, 'schedule'>; readonly label: string; readonly integer: boolean; readonly min: number }[] = [
  { key: 'stages', label: 'Ranks (--stages)', integer: true, min: 1 },
  { key: 'microbatches', label: 'Micro-batches (--microbatches)', integer: true, min: 1 },
  { key: 'layers', label: 'Layers (--layers)', integer: true, min: 1 },
  { key: 'embd', label: 'Width (--embd)', integer: true, min: 1 },
  { key: 'heads', label: 'Heads (--heads)', integer: true, min: 1 },
  { key: 'seqLen', label: 'Sequence length (--seq-len)', integer: true, min: 1 },
  { key: 'batchSize', label: 'Batch (--batch-size)', integer: true, min: 1 },
  { key: 'steps', label: 'Steps (--steps)', integer: true, min: 1 },
  { key: 'lr', label: 'Learning rate (--lr)', integer: false, min: 0 },
  { key: 'seed', label: 'Seed (--seed)', integer: true, min: 0 },
];

export function TrainTab() {
  const [settings, setSettings] = useState<Settings>(browserDefaults);
  const [run, setRun] = useState<RunState>(emptyRun);
  const [running, setRunning] = useState(false);
  const [refusal, setRefusal] = useState<string | undefined>();
  const driver = useRef<Worker | null>(null);
  useEffect(() => () => driver.current?.terminate(), []);
  const isolated = globalThis.crossOriginIsolated === true;

  const stop = () => {
    driver.current?.terminate(); // its rank workers end with it
    driver.current = null;
    setRunning(false);
  };

  const start = async () => {
    stop();
    setRefusal(undefined);
    setRun(emptyRun);
    setRunning(true);
    let kernels: WebAssembly.Module;
    try {
      kernels = await WebAssembly.compileStreaming(fetch(gemmUrl));
    } catch (error) {
      setRefusal(`the WebAssembly kernels did not load: ${(error as Error).message}`);
      setRunning(false);
      return;
    }
    const worker = new Worker(new URL('./driver-worker.ts', import.meta.url), { type: 'module', name: 'driver' });
    driver.current = worker;
    worker.onmessage = (message: MessageEvent<DriverPost>) => {
      const post = message.data;
      if ('refused' in post) {
        setRefusal(post.refused);
        stop();
        return;
      }
      setRun((current) => applyEvent(current, post.event));
      if (post.event.type === 'end' || post.event.type === 'failed') stop();
    };
    worker.onerror = (failure) => {
      setRefusal(`the driver worker failed: ${failure.message}`);
      stop();
    };
    worker.postMessage({ ...settings, kernels } satisfies BrowserTrainRequest);
  };

  return (
    <div class="train">
      <p class="note">
        The reference GPT on the built-in addition task, smaller by default so it trains in seconds: one Web Worker per
        rank, the same rank loop, schedules and WebAssembly kernels as <code>conveyor train</code>, messages over the
        runtime's Transport seam (<code>src/runtime/web-workers/</code>).
      </p>
      {!isolated && (
        <p role="alert" class="error">
          This page is not cross-origin isolated, so the browser withholds SharedArrayBuffer, which the kernels' memory is
          made of. Serve it with <code>Cross-Origin-Opener-Policy: same-origin</code> and{' '}
          <code>Cross-Origin-Embedder-Policy: require-corp</code> (<code>conveyor lab</code> does).
        </p>
      )}
      <section class="controls" aria-label="Training settings">
        <SelectField label="Schedule (--schedule)" value={settings.schedule} options={scheduleOptions} onChange={(schedule) => setSettings({ ...settings, schedule })} />
        {fields.map(({ key, label, integer, min }) => (
          <NumberField
            key={key}
            label={label}
            integer={integer}
            min={min}
            value={settings[key]}
            onChange={(value) => value !== undefined && setSettings({ ...settings, [key]: value })}
          />
        ))}
        <div class="form-actions">
          <button type="button" onClick={() => void start()} disabled={!isolated || running}>Start training</button>
          <button type="button" onClick={stop} disabled={!running}>Stop</button>
          <span role="status">{running ? 'training…' : ''}</span>
        </div>
      </section>
      {refusal && <p role="alert" class="error">{refusal}</p>}
      {(run.start || run.latest || run.failure) && <RunView run={run} name="browser run" />}
    </div>
  );
}
