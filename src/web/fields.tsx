/** Labelled form controls shared by the tabs: every input carries a visible label, found by role and name. */
import { useEffect, useId, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';

interface NumberFieldProps {
  readonly label: string;
  readonly value: number | undefined;
  readonly onChange: (value: number | undefined) => void;
  readonly min?: number;
  readonly max?: number;
  readonly step?: number;
  readonly integer?: boolean;
  /** Shown (and accepted) when the field is empty: the value then comes from elsewhere. */
  readonly placeholder?: string;
  readonly disabled?: boolean;
  readonly hint?: ComponentChildren;
}

/**
 * A number input that keeps what the person typed: a half-typed or out-of-range entry is marked invalid and
 * not passed on, so the last good value stays in effect until the entry is fixed.
 */
export function NumberField(props: NumberFieldProps) {
  const { label, value, onChange, min, max, step, integer, placeholder, disabled, hint } = props;
  const [text, setText] = useState(value === undefined ? '' : String(value));
  const [problem, setProblem] = useState<string | undefined>();
  const id = useId();
  useEffect(() => {
    if (value === undefined ? text !== '' : Number(text) !== value) setText(value === undefined ? '' : String(value));
  }, [value]);
  const read = (entry: string) => {
    setText(entry);
    if (entry.trim() === '' && placeholder !== undefined) {
      setProblem(undefined);
      onChange(undefined);
      return;
    }
    const number = Number(entry);
    const wrong =
      entry.trim() === '' || !Number.isFinite(number) ? 'a number'
        : integer && !Number.isInteger(number) ? 'a whole number'
          : min !== undefined && number < min ? `at least ${min}`
            : max !== undefined && number > max ? `at most ${max}` : undefined;
    setProblem(wrong && `${label}: enter ${wrong}`);
    if (wrong === undefined) onChange(number);
  };
  return (
    <div class="field">
      <label class="field-label" for={id}>{label}</label>
      <input
        id={id}
        aria-describedby={`${id}-note`}
        type="number"
        value={text}
        min={min}
        max={max}
        step={step ?? (integer ? 1 : 'any')}
        placeholder={placeholder}
        disabled={disabled}
        aria-invalid={problem !== undefined}
        onInput={(event) => read(event.currentTarget.value)}
      />
      <span id={`${id}-note`} class={problem ? 'field-problem' : 'field-hint'}>{problem ?? hint}</span>
    </div>
  );
}

interface SelectFieldProps<T extends string> {
  readonly label: string;
  readonly value: T;
  readonly options: readonly { readonly value: T; readonly label: string }[];
  readonly onChange: (value: T) => void;
  readonly hint?: ComponentChildren;
}

export function SelectField<T extends string>({ label, value, options, onChange, hint }: SelectFieldProps<T>) {
  const id = useId();
  return (
    <div class="field">
      <label class="field-label" for={id}>{label}</label>
      <select id={id} value={value} onChange={(event) => onChange(event.currentTarget.value as T)}>
        {options.map((option) => (
          <option key={option.value} value={option.value}>{option.label}</option>
        ))}
      </select>
      {hint ? <span class="field-hint">{hint}</span> : null}
    </div>
  );
}

/** Text with a button that copies it; the button says what it copies. */
export function CopyBlock({ title, text }: { readonly title: string; readonly text: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      setState('failed');
    }
  };
  return (
    <section class="copy-block" aria-label={title}>
      <div class="copy-head">
        <h4>{title}</h4>
        <button type="button" onClick={copy}>Copy {title}</button>
        <span role="status" class="copy-state">{state === 'copied' ? 'copied' : state === 'failed' ? 'the browser refused the clipboard: select the text instead' : ''}</span>
      </div>
      <pre>{text}</pre>
    </section>
  );
}

/** A drawing from `src/trace/svg.ts`, put into the page as the markup the renderer wrote. */
export function SvgChart({ svg, label }: { readonly svg: string; readonly label: string }) {
  return <figure class="chart" aria-label={label} dangerouslySetInnerHTML={{ __html: svg }} />;
}
