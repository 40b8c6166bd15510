/** The search's dimensions in the order it narrows them: a rule at a later one removed candidates that got further. */
const levels = ['tp', 'pp', 'cp', 'batch', 'schedule', 'zero', 'ep'] as const;
export type SearchLevel = (typeof levels)[number];

/** At most this many values are listed after a rule. */
const NAMED_VALUES = 6;

/**
 * Records which rule removed candidates at which dimension, so that a search left with nothing can name the rule
 * that removed the last of them, with the values it removed, rather than guess.
 */
export class SearchFunnel {
  private deepest = -1;
  /** rule -> the values it removed at the deepest dimension reached. */
  private readonly rules = new Map<string, Set<string>>();

  /** Returns `ok`; when false, records that `rule` (what must hold) removed `value` (what did not) at `level`. */
  keep(level: SearchLevel, ok: boolean, rule: string, value: string): boolean {
    if (!ok) this.reject(level, rule, value);
    return ok;
  }

  reject(level: SearchLevel, rule: string, value: string): void {
    const depth = levels.indexOf(level);
    if (depth < this.deepest) return;
    if (depth > this.deepest) {
      this.deepest = depth;
      this.rules.clear();
    }
    const values = this.rules.get(rule) ?? new Set<string>();
    values.add(value);
    this.rules.set(rule, values);
  }

  /** Each rule at the furthest dimension any candidate reached, with the values it removed there. */
  lastRules(): string[] {
    return [...this.rules].map(([rule, values]) => {
      const listed = [...values].slice(0, NAMED_VALUES);
      const more = values.size > NAMED_VALUES ? `, and ${values.size - NAMED_VALUES} more` : '';
      return `${rule} (not ${listed.join(', ')}${more})`;
    });
  }
}
