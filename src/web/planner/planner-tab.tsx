/** The planner tab: a model, a cluster and a batch in; the ranked plans out, with bars, explanations and exports. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { UsageError } from '../../errors.js';
import { gpuCatalogue, modelPresets, type Precision, type SearchRequest } from '../../planner/index.js';
import { NumberField, SelectField } from '../fields.js';
import { ModelInput } from './model-input.js';
import { modelFrom, pastedModel } from './model-source.js';
import { PlanDetails } from './plan-details.js';
import { PlanTable } from './plan-table.js';
import type { SearchReply } from './search-worker.js';

const presetOptions = [
  ...Object.keys(modelPresets).map((id) => ({ value: id, label: id })),
  { value: pastedModel, label: 'from config.json (paste or drop below)' },
];
const gpuOptions = gpuCatalogue.map((gpu) => ({ value: gpu.id, label: gpu.name }));
const precisionOptions = (['bf16', 'fp16', 'fp8'] as const).map((value) => ({ value, label: value }));

/** Plans shown, fastest first. */
const TOP = 10;

type Status = { readonly state: 'idle' } | { readonly state: 'searching' } | { readonly state: 'done'; readonly reply: SearchReply; readonly request: SearchRequest };

export function PlannerTab() {
  const [model, setModel] = useState('llama3-8b');
  const [modelText, setModelText] = useState('');
  const [gpu, setGpu] = useState('h100-sxm');
  const [gpus, setGpus] = useState<number | undefined>(64);
  const [globalBatch, setGlobalBatch] = useState<number | undefined>(512);
  const [seqLength, setSeqLength] = useState<number | undefined>(undefined);
  const [precision, setPrecision] = useState<Precision>('bf16');
  const [status, setStatus] = useState<Status>({ state: 'idle' });
  const [inputError, setInputError] = useState<string | undefined>();
  const [selected, setSelected] = useState(0);
  const worker = useRef<Worker | null>(null);
  useEffect(() => () => worker.current?.terminate(), []);

  const presetSeq = modelPresets[model]?.seqLength;

  const run = (event: Event) => {
    event.preventDefault();
    let request: SearchRequest;
    try {
      if (gpus === undefined || globalBatch === undefined) throw new UsageError('enter the GPU count and the global batch');
      request = {
        model: modelFrom(model, modelText, seqLength),
        gpu: gpuCatalogue.find((candidate) => candidate.id === gpu)!,
        gpus,
        globalBatchSize: globalBatch,
        precision,
        top: TOP,
      };
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      setInputError(error.message);
      return;
    }
    setInputError(undefined);
    // A new search replaces one still running.
    worker.current?.terminate();
    const searcher = new Worker(new URL('./search-worker.ts', import.meta.url), { type: 'module' });
    worker.current = searcher;
    setStatus({ state: 'searching' });
    searcher.onmessage = (reply: MessageEvent<SearchReply>) => {
      setSelected(0);
      setStatus({ state: 'done', reply: reply.data, request });
      searcher.terminate();
    };
    searcher.onerror = (failure) => {
      setStatus({ state: 'done', reply: { ok: false, message: `the search failed: ${failure.message}` }, request });
      searcher.terminate();
    };
    searcher.postMessage(request);
  };

  return (
    <div class="planner">
      <form class="controls" aria-label="Planner settings" onSubmit={run}>
        <SelectField label="Model" value={model} options={presetOptions} onChange={setModel} />
        <SelectField label="GPU" value={gpu} options={gpuOptions} onChange={setGpu} />
        <NumberField label="GPU count" integer min={1} max={1 << 20} value={gpus} onChange={setGpus} />
        <NumberField label="Global batch (sequences)" integer min={1} value={globalBatch} onChange={setGlobalBatch} />
        <NumberField
          label="Sequence length"
          integer
          min={1}
          value={seqLength}
          placeholder={model === pastedModel ? "the file's" : String(presetSeq ?? '')}
          onChange={setSeqLength}
          hint="empty: the model's own"
        />
        <SelectField label="Precision" value={precision} options={precisionOptions} onChange={setPrecision} />
        <div class="form-actions">
          <button type="submit" disabled={status.state === 'searching'}>Find plans</button>
          <span role="status">{status.state === 'searching' ? 'searching every split of the cluster…' : ''}</span>
        </div>
      </form>
      <ModelInput
        text={modelText}
        onText={(text) => {
          setModelText(text);
          setModel(pastedModel);
        }}
      />
      {inputError && <p role="alert" class="error">{inputError}</p>}
      {status.state === 'done' && (status.reply.ok ? (
        <>
          <p class="summary">
            {status.request.model.name} on {status.request.gpus} × {status.request.gpu.id}, global batch {status.request.globalBatchSize} ×{' '}
            {status.request.model.seqLength} tokens: {status.reply.feasible} of {status.reply.considered} configurations fit; the{' '}
            {status.reply.plans.length} fastest:
          </p>
          <PlanTable plans={status.reply.plans} selected={selected} onSelect={setSelected} />
          <PlanDetails estimate={status.reply.plans[selected]!} index={selected} />
        </>
      ) : (
        <p role="alert" class="error">{status.reply.message}</p>
      ))}
    </div>
  );
}
