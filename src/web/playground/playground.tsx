/** The schedule playground: controls, the Gantt chart, per-rank bubble and stash beside the theory, Play, and a comparison. */
import { useMemo, useState } from 'preact/hooks';
import { catalogueEntry, catalogueNames, type ActionKind, type ScheduleName } from '../../schedule/index.js';
import { NumberField, SelectField } from '../fields.js';
import { Comparison } from './comparison.js';
import { CustomEditor } from './custom-editor.js';
import { PlayableChart } from './playable-chart.js';
import { RankTable, TheoryNote } from './figures.js';
import { runSettings, type PlaygroundSettings } from './simulation.js';

const initial: PlaygroundSettings = {
  schedule: '1f1b',
  ranks: 4,
  microbatches: 8,
  chunks: undefined,
  costs: { F: 1, B: 2, I: 1, W: 1 },
  comm: 0,
  activationMiB: 512,
  customText: 'schedule my-1f1b\nrank 0: 0F0 0F1 0B0 0B1\nrank 1: 1F0 1B0 1F1 1B1\n',
  customFormat: 'text',
};

const scheduleOptions = [
  ...catalogueNames.map((name) => ({ value: name, label: name })),
  { value: 'custom' as const, label: 'custom (edit below)' },
];

const costLabels: Record<ActionKind, string> = {
  F: 'F forward (s)',
  B: 'B full backward (s)',
  I: 'I backward to input (s)',
  W: 'W backward to weights (s)',
};

export function Playground() {
  const [settings, setSettings] = useState(initial);
  const update = (change: Partial<PlaygroundSettings>) => setSettings((current) => ({ ...current, ...change }));
  const result = useMemo(() => runSettings(settings), [settings]);
  const custom = settings.schedule === 'custom';
  const inEffect = result.ok ? result.schedule : undefined;
  const entry = custom ? undefined : catalogueEntry(settings.schedule as ScheduleName);
  const fixedChunks = entry !== undefined && entry.chunks.min === entry.chunks.max;

  return (
    <div class="playground">
      <section class="controls" aria-label="Schedule settings">
        <SelectField
          label="Schedule"
          value={settings.schedule}
          options={scheduleOptions}
          onChange={(schedule: ScheduleName | 'custom') => update({ schedule, chunks: undefined })}
        />
        <NumberField label="Stages p (ranks)" integer min={1} max={64} value={settings.ranks} disabled={custom} onChange={(ranks) => ranks !== undefined && update({ ranks })} />
        <NumberField label="Micro-batches m" integer min={1} max={256} value={settings.microbatches} disabled={custom} onChange={(microbatches) => microbatches !== undefined && update({ microbatches })} />
        <NumberField
          label="Chunks per rank v"
          integer
          min={entry?.chunks.min ?? 1}
          max={16}
          value={fixedChunks ? entry.chunks.default : settings.chunks}
          placeholder={String(entry?.chunks.default ?? (inEffect ? inEffect.stages / inEffect.ranks : ''))}
          disabled={custom || fixedChunks}
          onChange={(chunks) => update({ chunks })}
          hint={fixedChunks ? `${settings.schedule} places ${entry.chunks.default}` : "empty: the schedule's own"}
        />
        {(['F', 'B', 'I', 'W'] as const).map((kind) => (
          <NumberField
            key={kind}
            label={costLabels[kind]}
            min={0}
            step={0.25}
            value={settings.costs[kind]}
            onChange={(seconds) => seconds !== undefined && update({ costs: { ...settings.costs, [kind]: seconds } })}
          />
        ))}
        <NumberField label="Communication (s per message)" min={0} step={0.05} value={settings.comm} onChange={(comm) => comm !== undefined && update({ comm })} />
        <NumberField label="Activation per micro-batch (MiB)" min={0} step={64} value={settings.activationMiB} onChange={(activationMiB) => activationMiB !== undefined && update({ activationMiB })} />
        {entry && <p class="note"><strong>{entry.name}</strong>: {entry.summary} ({entry.source}).</p>}
        <p class="note">
          Costs are one rank's whole share of the model; with v chunks each chunk costs 1/v. Schedules that split the
          backward (zb-h1, zb-v) run I and W; the others run B.
        </p>
      </section>

      {result.ok ? (
        <>
          <PlayableChart schedule={result.schedule} timeline={result.timeline} />
          <TheoryNote schedule={result.schedule} timeline={result.timeline} theory={result.theory} comm={settings.comm} custom={custom} />
          <RankTable timeline={result.timeline} theory={result.theory} />
        </>
      ) : (
        !custom && <p role="alert" class="error">{result.message}</p>
      )}

      <CustomEditor
        text={settings.customText}
        format={settings.customFormat}
        active={custom}
        error={custom && !result.ok ? result : undefined}
        current={inEffect}
        onText={(customText) => update({ customText })}
        onFormat={(customFormat) => update({ customFormat })}
        onUse={(customText) => update({ customText, schedule: 'custom' })}
      />

      <Comparison settings={settings} />
    </div>
  );
}
