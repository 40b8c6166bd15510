/**
 * A trainable tensor, named and laid out exactly as in Hugging Face GPT-2
 * (e.g. `h.0.attn.c_attn.weight` is [C, 3C], Conv1D layout), so checkpoints are a plain dump.
 */
export interface Parameter {
  /** The Hugging Face GPT-2 key, e.g. `h.3.mlp.c_fc.bias`. */
  readonly name: string;
  /** Row-major shape, as stored in the checkpoint. */
  readonly shape: readonly number[];
  readonly data: Float32Array;
  /** Same length as data; backward passes accumulate into it. */
  readonly grad: Float32Array;
}

/** The GPT-2 shape of a model; field names follow config.json where one exists. */
export interface GPTConfig {
  /** V */
  readonly vocabSize: number;
  /** The longest sequence, T max (n_positions). */
  readonly blockSize: number;
  readonly layers: number;
  /** C */
  readonly embd: number;
  readonly heads: number;
  /** LM head shares the token embedding (GPT-2 default). */
  readonly tied: boolean;
}
