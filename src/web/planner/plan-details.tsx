/** One plan in full: the planner's explanation of it and the files each engine reads to run it, each with a copy button. */
import { useMemo } from 'preact/hooks';
import { UsageError } from '../../errors.js';
import { configOf, explain, exportPlan, formatExplanation, type Estimate, type ExportEngine } from '../../planner/index.js';
import { CopyBlock } from '../fields.js';

const engines: readonly { readonly engine: ExportEngine; readonly title: string }[] = [
  { engine: 'megatron', title: 'Megatron-LM arguments' },
  { engine: 'deepspeed', title: 'DeepSpeed ds_config.json and train.py' },
  { engine: 'torchtitan', title: 'torchtitan config function' },
  { engine: 'torchtitan-toml', title: 'torchtitan v0.2.2 TOML' },
];

/** The engine's text, or why that engine cannot run this plan. */
function exported(estimate: Estimate, engine: ExportEngine): { readonly text: string } | { readonly refusal: string } {
  try {
    return { text: exportPlan(estimate.job, engine) };
  } catch (error) {
    if (error instanceof UsageError) return { refusal: error.message };
    throw error;
  }
}

export function PlanDetails({ estimate, index }: { readonly estimate: Estimate; readonly index: number }) {
  const explanation = useMemo(() => formatExplanation(explain(estimate.job)), [estimate]);
  return (
    <section class="plan-details" aria-label={`Plan ${index + 1} in detail`}>
      <h2>Plan {index + 1}: explain</h2>
      <pre class="explanation" aria-label={`explanation of plan ${index + 1}`}>{explanation}</pre>
      <h2>Plan {index + 1}: exports</h2>
      <CopyBlock title="estimate config" text={`${JSON.stringify(configOf(estimate.job), null, 2)}\n`} />
      {engines.map(({ engine, title }) => {
        const result = exported(estimate, engine);
        return 'text' in result ? (
          <CopyBlock key={engine} title={title} text={result.text} />
        ) : (
          <p key={engine} class="refusal"><strong>{title}:</strong> {result.refusal}</p>
        );
      })}
    </section>
  );
}
