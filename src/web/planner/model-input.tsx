/** A model as JSON text: typed or pasted into the box, dropped on it, or chosen with the file button. */
import { useState } from 'preact/hooks';

interface ModelInputProps {
  readonly text: string;
  onText(text: string): void;
}

export function ModelInput({ text, onText }: ModelInputProps) {
  const [dragging, setDragging] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();
  const readFile = async (file: File | undefined) => {
    if (file === undefined) return;
    // A config.json is a few kilobytes; anything past a megabyte is not one.
    if (file.size > 1 << 20) {
      setProblem(`${file.name} is ${(file.size / (1 << 20)).toFixed(1)} MiB; a config.json is a few kilobytes`);
      return;
    }
    setProblem(undefined);
    onText(await file.text());
  };
  return (
    <section class={`model-input${dragging ? ' dragging' : ''}`} aria-label="Model from a file">
      <div class="field wide">
        <label class="field-label" for="model-json">config.json (paste, or drop the file here)</label>
        <textarea
          id="model-json"
          rows={6}
          spellcheck={false}
          value={text}
          placeholder='{ "name": "my-model", "architecture": "llama", "layers": 32, "hidden": 4096, "heads": 32, "kvHeads": 8, "ffnHidden": 14336, "seqLength": 8192, "vocab": 128256 }'
          onInput={(event) => onText(event.currentTarget.value)}
          onDragOver={(event) => {
            event.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(event) => {
            event.preventDefault();
            setDragging(false);
            void readFile(event.dataTransfer?.files[0]);
          }}
        />
      </div>
      <div class="field">
        <label class="field-label" for="model-file">Open a config.json</label>
        <input id="model-file" type="file" accept=".json,application/json" onChange={(event) => void readFile(event.currentTarget.files?.[0])} />
      </div>
      {problem && <p role="alert" class="error">{problem}</p>}
    </section>
  );
}
