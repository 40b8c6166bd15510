/** The search's dimensions in the order it narrows them: a rule at a later one removed candidates that got further. */
const levels = ['tp', 'pp', 'cp', 'batch', 'schedule', 'zero', 'ep'] as const;
export type SearchLevel = (typeof levels)[number];

/** At most this many distinct rules are named when nothing is left. */
const NAMED_RULES = 3;

/**
 * Records which rule removed candidates at which dimension, so that a search left with nothing can name the rule
 * that removed the last of them, rather than guess.
 */
export class SearchFunnel {
  private deepest = -1;
  private readonly rules = new Set<string>();

  /** Returns `ok`; when false, records `rule` (a sentence naming the value and what it must satisfy) at `level`. */
  keep(level: SearchLevel, ok: boolean, rule: string): boolean {
    if (!ok) this.reject(level, rule);
    return ok;
  }

  reject(level: SearchLevel, rule: string): void {
    const depth = levels.indexOf(level);
    if (depth < this.deepest) return;
    if (depth > this.deepest) {
      this.deepest = depth;
      this.rules.clear();
    }
    this.rules.add(rule);
  }

  /** The rules at the furthest dimension any candidate reached, the first few of them and how many more. */
  lastRules(): string[] {
    const all = [...this.rules];
    const named = all.slice(0, NAMED_RULES);
    if (all.length > NAMED_RULES) named.push(`${all.length - NAMED_RULES} more like these`);
    return named;
  }
}
