/** What a training run shows while it runs: a progress bar on a terminal, a line per step otherwise. */
import { SingleBar } from 'cli-progress';
import type { TrainOptions } from '../runtime/config.js';
import { unitsPerStage } from '../runtime/partition.js';
import type { RunPlan, StepRecord } from '../runtime/train.js';

export class Presenter {
  private bar: SingleBar | undefined;
  /** Progress goes to stderr, so stdout carries only the result (and stays valid JSON with --json). */
  private readonly terminal = process.stderr.isTTY === true;

  constructor(private readonly options: TrainOptions) {}

  start(plan: RunPlan, description: string): void {
    const { schedule } = plan;
    const stageCosts = plan.stageCostS.map((cost) => `${(cost * 1000).toFixed(1)}`).join(' / ');
    const split = unitsPerStage(plan.partition);
    this.say(`${description}`);
    this.say(
      `${schedule.name} on ${schedule.ranks} rank${schedule.ranks > 1 ? 's' : ''}${this.options.replicas > 1 ? ` × ${this.options.replicas} replicas` : ''}, ${schedule.stages} stages, ${schedule.microbatches} micro-batches; ` +
        `units per stage ${split.join(',')} (embedding and head count as units), measured F+B per stage ${stageCosts} ms`,
    );
    if (this.terminal) {
      this.bar = new SingleBar({
        format: 'step {value}/{total} [{bar}] loss {loss} · {tokensPerS} tokens/s',
        stream: process.stderr,
        hideCursor: true,
      });
      this.bar.start(this.options.steps, 0, { loss: '-', tokensPerS: '-' });
    }
  }

  step(record: StepRecord): void {
    const loss = record.loss.toFixed(4);
    const tokensPerS = Math.round(record.tokensPerS);
    if (this.bar) this.bar.update(record.step, { loss, tokensPerS });
    else if (!this.options.json) process.stdout.write(`step ${record.step}/${this.options.steps} loss ${loss} ${tokensPerS} tokens/s\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  private say(line: string): void {
    if (this.terminal) process.stderr.write(line + '\n');
    else if (!this.options.json) process.stdout.write(line + '\n');
  }
}
