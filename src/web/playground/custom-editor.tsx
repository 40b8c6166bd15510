/**
 * The custom schedule editor: a textarea over a backdrop that marks the action a validation message names,
 * and the message itself below, so a deadlock shows where it happens.
 */
import { useRef } from 'preact/hooks';
import { formatSchedule, type Schedule } from '../../schedule/index.js';
import type { ErrorLocation } from './error-location.js';

interface CustomEditorProps {
  readonly text: string;
  /** Whether the playground draws this schedule now. */
  readonly active: boolean;
  readonly error: { readonly message: string; readonly where?: ErrorLocation } | undefined;
  /** The schedule drawn now, to start editing from. */
  readonly current: Schedule | undefined;
  onText(text: string): void;
  onUse(text: string): void;
}

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

export function CustomEditor({ text, active, error, current, onText, onUse }: CustomEditorProps) {
  const backdrop = useRef<HTMLPreElement>(null);
  const where = error?.where;
  const line = where === undefined ? undefined : text.split('\n')[where.line];
  return (
    <section class="custom" aria-label="Custom schedule">
      <h2>Custom schedule</h2>
      <p class="note">
        One line per rank, its actions in order as <code>&lt;stage&gt;&lt;kind&gt;&lt;micro-batch&gt;</code>:
        <code>0F3</code> is stage 0's forward of micro-batch 3. An optional first line <code>schedule NAME</code>; <code>#</code> starts a comment.
      </p>
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
        <button type="button" disabled={current === undefined} onClick={() => current && onUse(formatSchedule(current))}>
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
