// The planner tab as a person uses it, in Debian's chromium: a preset or a pasted model in, ranked plans with GiB out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { labPerFile, missingBrowser, screenshot } from './browser.js';

const skip = missingBrowser();
const opened = labPerFile('#planner', skip);

const GiB = /(\d+\.\d) GiB of (\d+\.\d) GiB/;

test('llama3-8b on 64 H100s: ranked plans, each with its memory in GiB within the 80 GiB card', { skip }, async () => {
  const { page, context, server } = opened();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(server.url).origin });
  await page.getByLabel('Model', { exact: true }).selectOption('llama3-8b');
  await page.getByLabel('GPU', { exact: true }).selectOption('h100-sxm');
  await page.getByLabel('GPU count').fill('64');
  await page.getByLabel('Global batch (sequences)').fill('512');
  await page.getByRole('button', { name: 'Find plans' }).click();
  const table = page.getByRole('table', { name: 'Ranked plans' });
  await table.waitFor({ timeout: 60_000 });
  const rows = table.locator('tbody tr');
  assert.equal(await rows.count(), 10);
  let previous = 0;
  for (let i = 0; i < 10; i++) {
    const cells = rows.nth(i).locator('td');
    const [, used, capacity] = GiB.exec((await cells.nth(1).textContent())!)!;
    assert.equal(capacity, '80.0', 'an H100 SXM holds 80 GiB');
    assert.ok(Number(used) > 0 && Number(used) <= 80, `plan ${i + 1} fits: ${used} GiB`);
    const step = Number(/^(\d+\.\d+) s$/.exec((await cells.nth(2).textContent())!)![1]);
    assert.ok(step >= previous, 'fastest first');
    previous = step;
  }
  // Each bar names its figure for assistive technology.
  assert.match((await table.getByRole('img', { name: /^memory of plan 1: / }).getAttribute('aria-label'))!, GiB);
  await screenshot(page, 'planner', { fullPage: false, clip: { x: 0, y: 0, width: 1360, height: 820 } });
});

test('explain any row, and copy its exports', { skip }, async () => {
  const { page } = opened();
  await page.getByRole('button', { name: 'Explain plan 3' }).click();
  const details = page.getByRole('region', { name: 'Plan 3 in detail' });
  const explanation = (await details.getByLabel('explanation of plan 3').textContent())!;
  assert.match(explanation, /memory per GPU/);
  // The explanation's parts add up to its total, to the printed precision.
  const part = (name: string) => Number(new RegExp(`${name}\\s+([\\d.]+) GiB`).exec(explanation)![1]);
  const sum = ['weights', 'gradients', 'optimizer', 'activations', 'headroom'].reduce((total, name) => total + part(name), 0);
  assert.ok(Math.abs(sum - part('total')) <= 0.3, `${sum} vs ${part('total')}`);
  // Megatron-LM runs 1F1B (or no pipeline at all); a zero-bubble plan is refused with the reason instead.
  const runnable = page.getByRole('table', { name: 'Ranked plans' }).locator('tbody tr').filter({ hasText: /no pipeline|1f1b,/ }).first();
  const number = (await runnable.locator('th').textContent())!;
  await runnable.getByRole('button', { name: `Explain plan ${number}` }).click();
  const chosen = page.getByRole('region', { name: `Plan ${number} in detail` });
  const megatron = chosen.getByRole('region', { name: 'Megatron-LM arguments' });
  await megatron.getByRole('button', { name: 'Copy Megatron-LM arguments' }).click();
  await megatron.getByRole('status').getByText('copied').waitFor();
  const copied = await page.evaluate<string>('navigator.clipboard.readText()');
  assert.match(copied, /--num-layers 32 /);
  assert.equal(copied.trim(), (await megatron.locator('pre').textContent())!.trim());
  await chosen.getByRole('button', { name: 'Copy estimate config' }).click();
  const config = JSON.parse(await page.evaluate<string>('navigator.clipboard.readText()'));
  assert.equal(config.cluster.gpus, 64);
  assert.equal(config.parallel.globalBatchSize, 512);
});

test('a pasted model is planned; a broken one is refused in words', { skip }, async () => {
  const { page } = opened();
  const model = { name: 'pasted-1b', architecture: 'gpt', layers: 16, hidden: 2048, heads: 16, seqLength: 2048, vocab: 50304 };
  await page.getByLabel('config.json (paste, or drop the file here)').fill(JSON.stringify(model));
  assert.equal(await page.getByLabel('Model', { exact: true }).inputValue(), 'config.json', 'pasting chooses the pasted model');
  await page.getByLabel('GPU', { exact: true }).selectOption('a100-40gb');
  await page.getByLabel('GPU count').fill('8');
  await page.getByLabel('Global batch (sequences)').fill('64');
  await page.getByRole('button', { name: 'Find plans' }).click();
  await page.getByText(/^pasted-1b on 8 × a100-40gb, global batch 64 × 2048 tokens/).waitFor({ timeout: 60_000 });
  assert.match((await page.getByRole('table', { name: 'Ranked plans' }).locator('tbody tr').first().textContent())!, /of 40\.0 GiB/);
  // A Hugging Face config.json as transformers writes it (Mistral 7B's shape), read by the planner's own reader.
  const mistral = readFileSync(new URL('../../../test/planner/hf-configs/mistral.json', import.meta.url), 'utf8');
  await page.getByLabel('config.json (paste, or drop the file here)').fill(mistral);
  await page.getByLabel('Sequence length', { exact: true }).fill('4096');
  await page.getByLabel('GPU', { exact: true }).selectOption('h100-sxm');
  await page.getByRole('button', { name: 'Find plans' }).click();
  await page.getByText(/on 8 × h100-sxm, global batch 64 × 4096 tokens/).waitFor({ timeout: 60_000 });
  assert.match((await page.getByRole('table', { name: 'Ranked plans' }).locator('tbody tr').first().textContent())!, /of 80\.0 GiB/);
  await page.getByLabel('config.json (paste, or drop the file here)').fill('{ "layers": 16 ');
  await page.getByRole('button', { name: 'Find plans' }).click();
  assert.match((await page.getByRole('alert').textContent())!, /^config\.json is not valid JSON/);
});
