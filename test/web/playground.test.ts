// The schedule playground as a person uses it, in Debian's chromium: choose, read the figures, play, write a schedule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labPerFile, missingBrowser, screenshot } from './browser.js';

const skip = missingBrowser();
const opened = labPerFile('#schedules', skip);

/** The main chart's figure (the comparison below draws 1F1B too). */
const mainChart = (name: RegExp) => opened().page.getByRole('region', { name: 'Gantt chart' }).getByRole('img', { name });
const output = (name: string) => opened().page.locator(`output[aria-label="${name}"]`);

test('choosing zb-v redraws the chart and the bubble drops from 1F1B\'s 27.3% to 5.9%', { skip }, async () => {
  const { page } = opened();
  const chart = mainChart(/^1f1b · 4 ranks/);
  await chart.waitFor();
  // The published figures for p = 4, m = 8, F = 1, B = 2 (docs/schedule.md): 1F1B 27.3%, ZB-V 5.9%.
  assert.equal(await output('simulated bubble').textContent(), '27.3%');
  assert.equal(await output('theory bubble').textContent(), '27.3%');
  await page.getByLabel('Schedule', { exact: true }).selectOption('zb-v');
  const redrawn = mainChart(/^zb-v · 4 ranks · 8 stages \(2 chunks per rank\)/);
  await redrawn.waitFor();
  assert.equal(await output('simulated bubble').textContent(), '5.9%');
  assert.equal(await output('theory bubble').textContent(), '5.9%');
  assert.equal(await output('makespan').textContent(), '25.5 s');
  // Every F, I and W of 8 stages × 8 micro-batches is a box with its own tooltip.
  assert.equal(await redrawn.locator('rect > title').count(), 8 * 8 * 3);
  const rows = page.getByRole('table', { name: 'Per-rank bubble and peak activation memory' }).locator('tbody tr');
  assert.equal(await rows.count(), 4);
  // Peak stash p = 4 micro-batches' worth on every rank, at 512 MiB each.
  for (let rank = 0; rank < 4; rank++) assert.match((await rows.nth(rank).textContent())!, /5\.9%5\.9%442048 MiB$/);
  await screenshot(page, 'playground-zb-v', { fullPage: false, clip: { x: 0, y: 0, width: 1360, height: 760 } });
});

test('a new micro-batch count redraws at once, beside the formula', { skip }, async () => {
  const { page } = opened();
  await page.getByLabel('Schedule', { exact: true }).selectOption('1f1b');
  await page.getByLabel('Micro-batches m').fill('16');
  await mainChart(/^1f1b · 4 ranks · 4 stages · 16 micro-batches/).waitFor();
  // (p-1)/(m+p-1) = 3/19.
  assert.equal(await output('simulated bubble').textContent(), '15.8%');
  await page.getByLabel('Micro-batches m').fill('0');
  assert.equal(await page.getByLabel('Micro-batches m').getAttribute('aria-invalid'), 'true');
  assert.equal(await output('simulated bubble').textContent(), '15.8%', 'an invalid entry leaves the last good figures');
  await page.getByLabel('Micro-batches m').fill('8');
  await page.getByLabel('Communication (s per message)').fill('0.5');
  const theory = page.getByRole('region', { name: 'Bubble: simulated and theory' });
  await theory.getByText(/leaves communication out/).waitFor();
  // Every message between ranks now takes time, so the step outlasts the formula's 3(m+p-1) = 33 s.
  assert.ok(Number.parseFloat((await output('makespan').textContent())!) > 33);
  await page.getByLabel('Communication (s per message)').fill('0');
  await mainChart(/makespan 33 /).waitFor();
});

test('Play sweeps the step: idle ranks say so, on the chart and in words', { skip }, async () => {
  const { page } = opened();
  const comparison = page.getByRole('region', { name: 'Naive, GPipe and 1F1B side by side' });
  await comparison.getByRole('button', { name: 'Play the comparison' }).click();
  const naive = comparison.getByRole('list', { name: 'What each rank of naive is doing' });
  // Naive has one rank busy at a time: three of four are idle at every moment while it plays.
  await naive.getByText(/^rank \d: runs /).first().waitFor();
  await comparison.getByRole('button', { name: 'Pause the comparison' }).click();
  const states = await naive.getByRole('listitem').allTextContents();
  assert.equal(states.filter((state) => state.endsWith('idle')).length + states.filter((state) => state.endsWith('done')).length, 3, states.join(' | '));
  const chart = comparison.getByRole('img', { name: /^naive/ });
  assert.ok((await chart.locator('text', { hasText: /^idle$/ }).count()) >= 1, 'the chart labels idle lanes');
  await screenshot(page, 'playground-play', { fullPage: false, clip: (await comparison.boundingBox())! });
  const moment = await comparison.locator('output').textContent();
  assert.match(moment!, /^t = [\d.]+ of 96 s$/);
  assert.notEqual(moment, 't = 96 of 96 s', 'paused mid-step');
});

test('a custom schedule that deadlocks is marked at the action, with the explanation', { skip }, async () => {
  const { page } = opened();
  await page.getByLabel('Schedule', { exact: true }).selectOption('custom');
  // Rank 1 wants micro-batch 1 first while rank 0 sends 0 first: each waits on the other.
  await page.getByLabel('Custom schedule text').fill('rank 0: 0F0 0F1 0B0 0B1\nrank 1: 1F1 1F0 1B0 1B1\n');
  const alert = page.getByRole('region', { name: 'Custom schedule' }).getByRole('alert');
  await alert.waitFor();
  assert.match((await alert.textContent())!, /deadlock: rank 0 waits after 0F1 to send its activation to rank 1, but that channel still holds 0F0's activation, untaken by rank 1 waiting before 1F1/);
  assert.equal(await page.locator('.editor-backdrop mark').textContent(), '0F1');
  assert.match((await alert.textContent())!, /line 1, column 13/);
  await screenshot(page, 'playground-deadlock', { fullPage: false, clip: (await page.getByRole('region', { name: 'Custom schedule' }).boundingBox())! });
  // Swapping rank 1's forwards mends it: the chart comes back, drawn from the text.
  await page.getByLabel('Custom schedule text').fill('schedule mended\nrank 0: 0F0 0F1 0B0 0B1\nrank 1: 1F0 1F1 1B0 1B1\n');
  await mainChart(/^mended · 2 ranks · 2 stages · 2 micro-batches/).waitFor();
  assert.equal(await alert.count(), 0);
});
