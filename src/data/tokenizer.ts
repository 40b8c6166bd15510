import { UsageError } from '../errors.js';
import { printable } from '../quote.js';

/** The vocabulary as saved beside a checkpoint: token id i is symbols[i]. */
export interface VocabularyJson {
  readonly kind: 'characters';
  readonly symbols: readonly string[];
}

/**
 * Character-level tokenizer: one token per Unicode code point, vocabulary = the distinct code points
 * of the training text sorted by code point, so the same text always gives the same ids.
 */
export class CharTokenizer {
  readonly symbols: readonly string[];
  private readonly ids: ReadonlyMap<string, number>;

  private constructor(symbols: readonly string[]) {
    this.symbols = symbols;
    this.ids = new Map(symbols.map((symbol, id) => [symbol, id]));
  }

  /** V */
  get vocabSize(): number {
    return this.symbols.length;
  }

  static fromText(text: string, source = 'the text'): CharTokenizer {
    const distinct = new Set<string>();
    for (const symbol of text) distinct.add(symbol);
    if (distinct.size === 0) throw new UsageError(`${source} is empty; a vocabulary needs at least one character`);
    return new CharTokenizer([...distinct].sort(compareCodePoints));
  }

  /** Validates a saved vocabulary: a non-empty array of distinct single code points in sorted order. */
  static fromJson(value: unknown, source: string): CharTokenizer {
    const record = value as Partial<VocabularyJson> | null;
    if (typeof record !== 'object' || record === null || record.kind !== 'characters' || !Array.isArray(record.symbols)) {
      throw new UsageError(`${source} is not a Conveyor vocabulary; expected {"kind": "characters", "symbols": [...]}`);
    }
    const symbols = record.symbols;
    if (symbols.length === 0) throw new UsageError(`${source} has an empty vocabulary`);
    symbols.forEach((symbol: unknown, id) => {
      if (typeof symbol !== 'string' || [...symbol].length !== 1) {
        throw new UsageError(`${source}: symbol ${id} is ${printable(JSON.stringify(symbol) ?? String(symbol))}, expected one character`);
      }
      if (id > 0 && compareCodePoints(symbols[id - 1]!, symbol) >= 0) {
        throw new UsageError(`${source}: symbols are not distinct and sorted at id ${id}`);
      }
    });
    return new CharTokenizer([...symbols]);
  }

  toJson(): VocabularyJson {
    return { kind: 'characters', symbols: this.symbols };
  }

  /** Token ids of text; a character outside the vocabulary is a UsageError naming it and where it came from. */
  encode(text: string, source = 'the text'): Int32Array {
    const ids: number[] = [];
    for (const symbol of text) {
      const id = this.ids.get(symbol);
      if (id === undefined) {
        throw new UsageError(`${source} contains "${printable(symbol)}" (U+${symbol.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}), which is not in the model's vocabulary of ${this.vocabSize} characters`);
      }
      ids.push(id);
    }
    return Int32Array.from(ids);
  }

  decode(ids: ArrayLike<number>): string {
    let text = '';
    for (let i = 0; i < ids.length; i++) {
      const symbol = this.symbols[ids[i]!];
      if (symbol === undefined) throw new RangeError(`token id ${ids[i]} is outside the vocabulary of ${this.vocabSize}`);
      text += symbol;
    }
    return text;
  }
}

/** Orders single code points numerically (default string order compares UTF-16 units, which misorders astral characters). */
function compareCodePoints(a: string, b: string): number {
  return a.codePointAt(0)! - b.codePointAt(0)!;
}
