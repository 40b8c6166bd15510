// Training for real in Debian's chromium: the reference GPT across Web Workers, one per rank, as a person starts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { labPerFile, missingBrowser, screenshot } from './browser.js';

const bin = new URL('../../../bin/conveyor.js', import.meta.url).pathname;
/** The page's defaults, as `conveyor train` flags. */
const defaults = ['--layers', '2', '--embd', '64', '--heads', '4', '--seq-len', '32', '--batch-size', '8', '--microbatches', '4', '--lr', '3e-3', '--seed', '1337'];

const skip = missingBrowser();
const opened = labPerFile('#train', skip);

test("Start training: the loss falls, the measured step is drawn beside its prediction, and the model is bitwise the terminal run's", { skip }, async () => {
  const { page } = opened();
  assert.equal(await page.evaluate('crossOriginIsolated'), true, 'the lab server isolates the page, so SharedArrayBuffer exists');
  await page.getByLabel('Schedule (--schedule)').selectOption('1f1b');
  await page.getByLabel('Ranks (--stages)').fill('2');
  await page.getByLabel('Steps (--steps)').fill('20');
  await page.getByRole('button', { name: 'Start training' }).click();
  const view = page.getByRole('region', { name: 'browser run' });
  await view.getByLabel('browser run: validation loss').waitFor({ timeout: 120_000 });
  assert.equal(await view.getByLabel('browser run: step', { exact: true }).textContent(), '20');
  const loss = Number(await view.getByLabel('browser run: loss', { exact: true }).textContent());
  const validation = Number(await view.getByLabel('browser run: validation loss').textContent());
  // 13 symbols: an untrained model's loss is about ln 13 = 2.56; twenty steps at lr 3e-3 bring it well below.
  assert.ok(loss > 0 && loss < 2.4, `training loss ${loss}`);
  assert.ok(validation > 0 && validation < 2.4, `validation loss ${validation}`);
  assert.match((await view.textContent())!, /1f1b on 2 ranks, 20 steps/);
  const measured = view.getByRole('figure', { name: 'browser run: measured step' }).getByRole('img');
  assert.match((await measured.getAttribute('aria-label'))!, /^1f1b · 2 ranks · 2 stages · 4 micro-batches/);
  assert.equal(await measured.locator('rect > title', { hasText: /^\d+[FB]\d+ / }).count(), 2 * 2 * 4);
  assert.ok((await view.getByRole('figure', { name: 'browser run: loss curve' }).locator('canvas').count()) > 0);
  await screenshot(page, 'train-browser', { fullPage: true });

  // The same run from the terminal, on worker threads with the same WebAssembly kernels: bitwise the same model.
  const node = spawnSync(process.execPath, [bin, 'train', ...defaults, '--stages', '2', '--schedule', '1f1b', '--steps', '20', '--json'], {
    encoding: 'utf8', env: { ...process.env, CONVEYOR_KERNELS: 'wasm' }, timeout: 120_000,
  });
  assert.equal(node.status, 0, node.stderr);
  const report = JSON.parse(node.stdout) as { paramChecksum: string; valLoss: number; kernels: string };
  assert.equal(report.kernels, 'wasm-simd128');
  assert.equal(await view.getByLabel('browser run: parameters sha256').textContent(), report.paramChecksum);
  assert.equal(validation.toFixed(4), report.valLoss.toFixed(4));
});

test('a setting the run cannot take is refused in words before any worker starts', { skip }, async () => {
  const { page } = opened();
  await page.getByLabel('Heads (--heads)').fill('3'); // 64 is not a multiple of 3
  await page.getByRole('button', { name: 'Start training' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match((await alert.textContent())!, /--embd 64 is not divisible by --heads 3/);
  await page.getByLabel('Heads (--heads)').fill('4');
});
