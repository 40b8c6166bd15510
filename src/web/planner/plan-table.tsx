/** The ranked plans: one row per plan with its memory against the GPU's capacity and its step time split into parts. */
import { describePlan, type Estimate } from '../../planner/index.js';

const GiB = 2 ** 30;
const gib = (bytes: number): string => `${(bytes / GiB).toFixed(1)} GiB`;

const memoryParts = [
  ['weights', 'weights'],
  ['gradients', 'gradients'],
  ['optimizer', 'optimizer'],
  ['activations', 'activations'],
  ['headroom', 'headroom'],
] as const;
const timeParts = [
  ['compute', 'compute'],
  ['tensorParallel', 'tensor-parallel'],
  ['pipelineSends', 'pipeline sends'],
  ['bubble', 'bubble'],
  ['dataParallel', 'data-parallel'],
  ['optimizer', 'optimizer'],
] as const;

/** A stacked bar: each part's share of `whole` as a segment with its own colour class and tooltip. */
function Bar({ parts, whole, unit, label }: { readonly parts: readonly [string, string, number][]; readonly whole: number; readonly unit: (value: number) => string; readonly label: string }) {
  return (
    <div class="bar" role="img" aria-label={label}>
      {parts.map(([key, name, value]) => (
        <span key={key} class={`segment ${key}`} style={{ width: `${(100 * value) / whole}%` }} title={`${name}: ${unit(value)}`} />
      ))}
    </div>
  );
}

function Legend({ parts }: { readonly parts: readonly (readonly [string, string])[] }) {
  return (
    <span class="legend">
      {parts.map(([key, name]) => (
        <span key={key}><span class={`swatch segment ${key}`} />{name}</span>
      ))}
    </span>
  );
}

interface PlanTableProps {
  readonly plans: readonly Estimate[];
  readonly selected: number;
  onSelect(index: number): void;
}

export function PlanTable({ plans, selected, onSelect }: PlanTableProps) {
  const slowest = Math.max(...plans.map((plan) => plan.stepTimeS));
  return (
    <>
      <p class="legends">
        memory per GPU (the bar's end is the GPU's capacity): <Legend parts={memoryParts} />
        <br />
        step time (against the slowest shown): <Legend parts={timeParts} />
      </p>
      <table class="plans" aria-label="Ranked plans">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">plan</th>
            <th scope="col">memory per GPU</th>
            <th scope="col">step time</th>
            <th scope="col">tokens/s</th>
            <th scope="col">MFU</th>
            <th scope="col">bubble</th>
            <th scope="col"><span class="visually-hidden">details</span></th>
          </tr>
        </thead>
        <tbody>
          {plans.map((plan, index) => {
            const { memory, time } = plan;
            const memoryLabel = `${gib(memory.total)} of ${gib(memory.capacity)}`;
            return (
              <tr key={index} aria-selected={index === selected} class={index === selected ? 'selected' : ''}>
                <th scope="row">{index + 1}</th>
                <td>{describePlan(plan.job)}</td>
                <td class="bar-cell">
                  <Bar label={`memory of plan ${index + 1}: ${memoryLabel}`} whole={memory.capacity} unit={gib} parts={memoryParts.map(([key, name]) => [key, name, memory[key]])} />
                  <span>{memoryLabel}</span>
                </td>
                <td class="bar-cell">
                  <Bar label={`step time of plan ${index + 1}: ${time.step.toFixed(3)} s`} whole={slowest} unit={(s) => `${s.toFixed(3)} s`} parts={timeParts.map(([key, name]) => [key, name, time[key]])} />
                  <span>{time.step.toFixed(3)} s</span>
                </td>
                <td>{Math.round(plan.tokensPerS).toLocaleString('en-US')}</td>
                <td>{(100 * plan.mfu).toFixed(1)}%</td>
                <td>{(100 * plan.bubbleFraction).toFixed(1)}%</td>
                <td>
                  <button type="button" onClick={() => onSelect(index)} aria-pressed={index === selected}>
                    Explain plan {index + 1}
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}
