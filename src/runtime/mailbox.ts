/**
 * Messages a rank is waiting for, keyed by what they carry: the activation or gradient of one (stage,
 * micro-batch), a tied embedding's gradient, or a piece of a data-parallel reduction.
 * A message may arrive before or after the rank asks for it; either way it is handed over exactly once.
 */
export type Payload = 'activation' | 'gradient' | 'tied-gradient' | 'reduce';

export function mailKey(payload: Payload, stage: number, microbatch: number): string {
  return `${payload}:${stage}:${microbatch}`;
}

export class Mailbox {
  private readonly arrived = new Map<string, Float32Array>();
  private readonly waiting = new Map<string, (data: Float32Array) => void>();

  deliver(key: string, data: Float32Array): void {
    const receiver = this.waiting.get(key);
    if (receiver) {
      this.waiting.delete(key);
      receiver(data);
    } else {
      if (this.arrived.has(key)) throw new Error(`message ${key} arrived twice`);
      this.arrived.set(key, data);
    }
  }

  has(key: string): boolean {
    return this.arrived.has(key);
  }

  receive(key: string): Promise<Float32Array> {
    const data = this.arrived.get(key);
    if (data) {
      this.arrived.delete(key);
      return Promise.resolve(data);
    }
    if (this.waiting.has(key)) throw new Error(`two receivers wait for ${key}`);
    return new Promise((resolve) => this.waiting.set(key, resolve));
  }

  /** Messages that arrived but were never asked for: non-empty after a step means the schedule and the traffic disagree. */
  pending(): string[] {
    return [...this.arrived.keys(), ...[...this.waiting.keys()].map((key) => `awaited ${key}`)];
  }
}
