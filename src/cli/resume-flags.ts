/**
 * One rule for `train --resume DIR`: a flag the user gave that contradicts the checkpoint is refused, naming
 * both values; a flag left out takes the checkpoint's value. The model's shape comes from config.json; the
 * run's settings (seed, sequence length, batch size, optimizer settings, the text) from the fields saved in
 * optimizer.safetensors. Checkpoints saved before those fields existed keep what they lack from the flags.
 */
import { UsageError } from '../errors.js';
import type { GPTConfig } from '../nn/index.js';
import { readNumber, readWholeNumber } from '../number-text.js';
import { largestDivisorAtMost, type TrainOptions } from '../runtime/config.js';

/** The run's settings a checkpoint saves beside its weights, by field name in optimizer.safetensors (extra.*). */
export const savedSettings = {
  seed: 'seed',
  seqLen: 'seq_len',
  batchSize: 'batch_size',
  lr: 'lr',
  weightDecay: 'weight_decay',
  clip: 'clip',
} as const satisfies Partial<Record<keyof TrainOptions, string>>;

/**
 * How the batch was split: it changes no number a resumed run computes (micro-batches only accumulate), so a
 * resumed run may split differently; left out, it splits as the saved run did, which divides its batch size.
 */
const MICROBATCHES_FIELD = 'microbatches';

/** Fields of the text: where it was read from, and a digest of its token ids. */
export const DATA_FIELD = 'data';
export const DATA_DIGEST_FIELD = 'data_sha256';

type Setting = keyof typeof savedSettings;
const flagOf: Readonly<Record<Setting | 'layers' | 'embd' | 'heads' | 'untied', string>> = {
  seed: '--seed', seqLen: '--seq-len', batchSize: '--batch-size', lr: '--lr', weightDecay: '--weight-decay', clip: '--clip',
  layers: '--layers', embd: '--embd', heads: '--heads', untied: '--untied',
};

/** What the run saves for a later resume: every setting in savedSettings, as text that reads back exactly. */
export function settingsToSave(options: TrainOptions): Record<string, string> {
  const settings = Object.entries(savedSettings).map(([key, field]) => [field, String(options[key as Setting])]);
  return { ...Object.fromEntries(settings), [MICROBATCHES_FIELD]: String(options.microbatches) };
}

/**
 * The options a resumed run uses: the checkpoint's where a flag was left out, the flag's where it agrees.
 * `given` holds the option keys the user typed (commander's value source 'cli').
 */
export function resumedOptions(options: TrainOptions, given: ReadonlySet<string>, dir: string, config: GPTConfig, extra: Readonly<Record<string, string>>): TrainOptions {
  const where = `the checkpoint in ${dir}`;
  const fromModel = { layers: config.layers, embd: config.embd, heads: config.heads, untied: !config.tied };
  const fields = { layers: 'n_layer', embd: 'n_embd', heads: 'n_head', untied: 'tie_word_embeddings' } as const;
  const resolved: Record<string, unknown> = { ...options };
  for (const key of Object.keys(fromModel) as (keyof typeof fromModel)[]) {
    const saved = fromModel[key];
    if (given.has(key) && options[key] !== saved) {
      const savedText = key === 'untied' ? `a head tied to its embedding (${fields[key]} true)` : `${saved} (${fields[key]} in config.json)`;
      throw new UsageError(`${flagOf[key]}${key === 'untied' ? '' : ` ${options[key]}`} contradicts ${where}, which has ${savedText}: leave ${flagOf[key]} out to continue it`);
    }
    resolved[key] = saved;
  }
  for (const key of Object.keys(savedSettings) as Setting[]) {
    const text = extra[savedSettings[key]];
    if (text === undefined) continue; // saved before the field existed: the flag (or its default) decides
    const field = `${dir}/optimizer.safetensors extra.${savedSettings[key]}`;
    const saved = key === 'lr' || key === 'weightDecay' || key === 'clip' ? readNumber(field, text) : readWholeNumber(field, text, 0);
    if (given.has(key) && options[key] !== saved) {
      throw new UsageError(`${flagOf[key]} ${options[key]} contradicts ${where}, which was trained with ${flagOf[key]} ${saved}: leave ${flagOf[key]} out to continue it`);
    }
    resolved[key] = saved;
  }
  const microbatches = extra[MICROBATCHES_FIELD];
  if (microbatches !== undefined && !given.has('microbatches')) resolved.microbatches = readWholeNumber(`${dir}/optimizer.safetensors extra.${MICROBATCHES_FIELD}`, microbatches, 1);
  // Saved before seq_len existed: a new run's sequences were as long as its positions.
  if (extra[savedSettings.seqLen] === undefined && !given.has('seqLen')) resolved.seqLen = config.blockSize;
  const result = resolved as TrainOptions;
  if (result.batchSize % result.microbatches !== 0) {
    throw new UsageError(`${where} was trained with --batch-size ${result.batchSize}, which --microbatches ${result.microbatches} does not divide: use --microbatches ${largestDivisorAtMost(result.batchSize, result.microbatches)}`);
  }
  const perMicrobatch = result.batchSize / result.microbatches;
  if (perMicrobatch % result.replicas !== 0) {
    throw new UsageError(
      `${where} was trained with --batch-size ${result.batchSize}, which --microbatches ${result.microbatches} × --replicas ${result.replicas} = ${result.microbatches * result.replicas} does not divide: ` +
        `use --replicas ${largestDivisorAtMost(perMicrobatch, result.replicas)}`,
    );
  }
  return result;
}

