// `conveyor train --lab` streams a real terminal run: to a server of its own, or into a `conveyor lab` already open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { isCompute, type Action } from '../../src/schedule/index.js';
import { missingBrowser, openLab, screenshot } from './browser.js';

const bin = new URL('../../../bin/conveyor.js', import.meta.url).pathname;
const tiny = ['--layers', '2', '--embd', '16', '--heads', '2', '--seq-len', '16', '--batch-size', '8', '--microbatches', '4', '--stages', '2'];

function train(args: readonly string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [bin, 'train', ...tiny, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  child.stdout!.resume();
  return { child, stderr: () => stderr };
}

/** The server-sent events of `url` until one of type `last` arrives: [type, data][]. */
async function eventsUntil(url: string, last: string): Promise<[string, Record<string, unknown>][]> {
  const response = await fetch(url);
  const reader = response.body!.getReader();
  const events: [string, Record<string, unknown>][] = [];
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return events;
    buffer += new TextDecoder().decode(value);
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const type = /^event: (.*)$/m.exec(block)?.[1];
      if (type === undefined) continue;
      events.push([type, JSON.parse(/^data: (.*)$/m.exec(block)![1]!)]);
      if (type === last) {
        await reader.cancel();
        return events;
      }
    }
  }
}

test('train --lab-port serves the run itself: the opening, every step with its measured and predicted step, the end', async () => {
  const run = train(['--steps', '6', '--lab-port', '0']);
  try {
    while (!/watch the run at /.test(run.stderr())) await once(run.child.stderr!, 'data');
    const url = /watch the run at (http:\/\/127\.0\.0\.1:\d+\/)#watch/.exec(run.stderr())![1]!;
    const events = await eventsUntil(`${url}api/events`, 'end');
    assert.deepEqual(events.map(([type]) => type), ['run', 'step', 'step', 'step', 'step', 'step', 'step', 'end']);
    const opening = events[0]![1] as { schedule: { name: string; ranks: number }; steps: number };
    assert.equal(opening.schedule.name, '1f1b');
    assert.equal(opening.schedule.ranks, 2);
    assert.equal(opening.steps, 6);
    events.slice(1, 7).forEach(([, data], i) => {
      const step = data as { step: number; loss: number; timeline: { events: { action: Action }[]; makespan: number }; predicted: { makespan: number } };
      assert.equal(step.step, i + 1);
      assert.ok(Number.isFinite(step.loss) && step.loss > 0);
      // 2 ranks × (F + B) × 4 micro-batches, each measured (beside the sends and receives of the lowered lists).
      assert.equal(step.timeline.events.filter((event) => isCompute(event.action)).length, 16);
      assert.ok(step.timeline.makespan > 0 && step.predicted.makespan > 0);
    });
    const [code] = await once(run.child, 'exit');
    assert.equal(code, 0, run.stderr());
  } finally {
    run.child.kill('SIGKILL');
  }
});

test('train --lab on a port where something else listens is refused before training', async () => {
  const other = (await import('node:http')).createServer((_, response) => response.end('not a lab')).listen(0, '127.0.0.1');
  await once(other, 'listening');
  const port = (other.address() as { port: number }).port;
  try {
    const run = train(['--steps', '1', '--lab-port', String(port)]);
    const [code] = await once(run.child, 'exit');
    assert.equal(code, 2);
    assert.equal(run.stderr(), `conveyor: --lab-port: port ${port} is taken by something that is not a Conveyor lab; choose another with --lab-port\n`);
  } finally {
    other.close();
  }
});

const skip = missingBrowser();

test('a page already open on conveyor lab shows a terminal run as it trains: loss curve, measured and predicted steps', { skip }, async () => {
  const lab = await openLab('#watch');
  try {
    const { page } = lab;
    await page.getByRole('status').getByText('connected; no run has started yet').waitFor();
    const run = train(['--steps', '6', '--lab-port', String(lab.server.port)]);
    const [code] = await once(run.child, 'exit');
    assert.equal(code, 0, run.stderr());
    assert.match(run.stderr(), new RegExp(`watch the run at http://127\\.0\\.0\\.1:${lab.server.port}/#watch`));
    const view = page.getByRole('region', { name: 'terminal run' });
    await view.getByLabel('terminal run: validation loss').waitFor();
    assert.equal(await view.getByLabel('terminal run: step', { exact: true }).textContent(), '6');
    assert.ok(Number((await view.getByLabel('terminal run: loss', { exact: true }).textContent())!) > 0);
    // uPlot draws the curve on a canvas; the measured and predicted steps are our SVG.
    assert.equal(await view.getByRole('figure', { name: 'terminal run: loss curve' }).locator('canvas').count() > 0, true);
    const measured = view.getByRole('figure', { name: 'terminal run: measured step' }).getByRole('img');
    assert.match((await measured.getAttribute('aria-label'))!, /^1f1b · 2 ranks · 2 stages · 4 micro-batches/);
    assert.equal(await measured.locator('rect > title', { hasText: /forward|backward/ }).count(), 16);
    // The prediction is simulated lowered: its compute boxes, and a strip for the measured message times.
    assert.equal(await view.getByRole('figure', { name: 'terminal run: predicted step' }).locator('rect > title', { hasText: /forward|backward/ }).count(), 16);
    await screenshot(page, 'terminal-run', { fullPage: true });
  } finally {
    await lab.close();
  }
});
