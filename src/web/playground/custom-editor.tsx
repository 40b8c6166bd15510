/**
 * The custom schedule editor: a textarea over a backdrop that marks the action a validation message names,
 * and the message itself below, so a deadlock shows where it happens.
 */
import { useRef } from 'preact/hooks';
import { formatSchedule, formatTorchCsv, type Schedule } from '../../schedule/index.js';
import { SelectField } from '../fields.js';
import type { ErrorLocation, ScheduleFormat } from './error-location.js';

interface CustomEditorProps {
  readonly text: string;
  readonly format: ScheduleFormat;
  /** Whether the playground draws this schedule now. */
  readonly active: boolean;
  readonly error: { readonly message: string; readonly where?: ErrorLocation } | undefined;
  /** The schedule drawn now, to start editing from. */
  readonly current: Schedule | undefined;
  onText(text: string): void;
  onFormat(format: ScheduleFormat): void;
  onUse(text: string): void;
}

const formats = [
  { value: 'text' as const, label: 'rank lines (rank 0: 0F0 0F1 …)' },
  { value: 'csv' as const, label: 'PyTorch pipelining CSV' },
];

/** The text with the located span wrapped in <mark>, line by line, for the backdrop. */
function Marked({ text, where }: { readonly text: string; readonly where: ErrorLocation | undefined }) {
  const lines = text.split('\n');
  return (
    <>
      {lines.map((line, index) => {
        const ending = index < lines.length - 1 ? '\n' : ' ';
        if (where === undefined || where.line !== index) return line + ending;
        return (
          <>
            {line.slice(0, where.start)}
            <mark>{line.slice(where.start, where.end)}</mark>
            {line.slice(where.end)}
            {ending}
          </>
        );
      })}
    </>
  );
}

export function CustomEditor({ text, format, active, error, current, onText, onFormat, onUse }: CustomEditorProps) {
  const backdrop = useRef<HTMLPreElement>(null);
  const where = error?.where;
  const line = where === undefined ? undefined : text.split('\n')[where.line];
  return (
    <section class="custom" aria-label="Custom schedule">
      <h2>Custom schedule</h2>
      <p class="note">
        One line per rank, its actions in order as <code>&lt;stage&gt;&lt;kind&gt;&lt;micro-batch&gt;</code>:{' '}
        <code>0F3</code> is stage 0's forward of micro-batch 3. In rank lines an optional first line{' '}
        <code>schedule NAME</code> names it and <code>#</code> starts a comment; a PyTorch CSV (what{' '}
        <code>_dump_csv</code> writes, compute_only or compute_comms) has one row per rank and a cell per action.
      </p>
      <SelectField label="Custom schedule format" value={format} options={formats} onChange={onFormat} />
      <label class="editor-label" for="custom-schedule-text">Custom schedule text</label>
      <div class="editor">
        <pre class="editor-backdrop" ref={backdrop} aria-hidden="true">
          <Marked text={text} where={active ? where : undefined} />
        </pre>
        <textarea
            id="custom-schedule-text"
            value={text}
            rows={8}
            spellcheck={false}
            aria-invalid={error !== undefined}
            aria-describedby={error ? 'custom-error' : undefined}
            onInput={(event) => onText(event.currentTarget.value)}
            onScroll={(event) => {
              if (backdrop.current) backdrop.current.scrollTop = event.currentTarget.scrollTop;
            }}
          />
      </div>
      <div class="editor-buttons">
        <button type="button" onClick={() => onUse(text)} disabled={active}>Draw the custom schedule</button>
        <button type="button" disabled={current === undefined} onClick={() => current && onUse(format === 'csv' ? formatTorchCsv(current) : formatSchedule(current))}>
          Edit a copy of the schedule shown
        </button>
      </div>
      {error && (
        <div role="alert" id="custom-error" class="error">
          <p>{error.message}</p>
          {where && line !== undefined && (
            <p class="error-where">
              line {where.line + 1}, column {where.start + 1}: <code>{line.slice(0, where.start)}<mark>{line.slice(where.start, where.end)}</mark>{line.slice(where.end)}</code>
            </p>
          )}
        </div>
      )}
    </section>
  );
}
