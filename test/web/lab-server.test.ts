// The lab server over loopback: the page with isolation headers, nothing outside dist/web, and the run stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startLabServer, type LabServer } from '../../src/cli/lab-server.js';
import type { LabEvent } from '../../src/web/watch/events.js';

function get(server: LabServer, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((done, fail) => {
    // A raw path, so `..` reaches the server as typed instead of being folded by a URL parser.
    const call = request({ host: '127.0.0.1', port: server.port, path }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => done({ status: response.statusCode!, headers: response.headers, body }));
    });
    call.on('error', fail);
    call.end();
  });
}

const post = (server: LabServer, body: string, type = 'application/json') =>
  fetch(`${server.url}api/events`, { method: 'POST', headers: { 'Content-Type': type }, body });

/** Reads server-sent events until `count` have arrived. */
async function readEvents(server: LabServer, count: number): Promise<{ type: string; data: unknown }[]> {
  const controller = new AbortController();
  const response = await fetch(`${server.url}api/events`, { signal: controller.signal });
  assert.equal(response.headers.get('content-type'), 'text/event-stream');
  const reader = response.body!.getReader();
  const events: { type: string; data: unknown }[] = [];
  let buffer = '';
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += new TextDecoder().decode(value);
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const type = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (type !== undefined && data !== undefined) events.push({ type, data: JSON.parse(data) });
    }
  }
  controller.abort();
  return events;
}

const step = (n: number, withTimeline: boolean): LabEvent => ({
  type: 'step',
  data: {
    step: n, loss: 4 - n / 10, stepTimeS: 0.1, tokensPerS: 1000,
    ...(withTimeline ? { timeline: { events: [], makespan: n, busy: [0], bubbleFraction: [0], peakActivations: [0], peakActivationBytes: [0] } } : {}),
  },
});

test('the page and its assets carry both cross-origin isolation headers; nothing outside dist/web is served', async () => {
  const server = await startLabServer({ port: 0 });
  try {
    const page = await get(server, '/');
    assert.equal(page.status, 200);
    assert.match(page.body, /<div id="app">/);
    assert.equal(page.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(page.headers['cross-origin-embedder-policy'], 'require-corp');
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(page.body)![1]!;
    const asset = await get(server, `/${script}`);
    assert.equal(asset.status, 200);
    assert.match(String(asset.headers['content-type']), /^text\/javascript/);
    assert.equal(asset.headers['cross-origin-embedder-policy'], 'require-corp');
    for (const escape of ['/../src/cli/lab-server.js', '/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json']) {
      assert.equal((await get(server, escape)).status, 404, escape);
    }
    assert.deepEqual(JSON.parse((await get(server, '/api/lab')).body), { conveyor: 'lab', events: '/api/events' });
  } finally {
    await server.close();
  }
});

test('a page that opens mid-run is sent the run so far: every step\'s figures, the latest step\'s timeline', async () => {
  const server = await startLabServer({ port: 0 });
  try {
    server.publish({ type: 'run', data: { schedule: { name: '1f1b', ranks: 1, stages: 1, microbatches: 1, placement: [0], order: ['0F0 0B0'] }, description: 'test', steps: 3, stageCostS: [0.1] } });
    server.publish(step(1, true));
    server.publish(step(2, true));
    const replayed = await readEvents(server, 3);
    assert.deepEqual(replayed.map((event) => event.type), ['run', 'step', 'step']);
    assert.equal((replayed[1]!.data as { timeline?: unknown }).timeline, undefined, 'the superseded timeline is dropped');
    assert.equal((replayed[2]!.data as { timeline: { makespan: number } }).timeline.makespan, 2);
    // A publisher in another process: JSON only, and only the known event types.
    const live = readEvents(server, 4);
    await new Promise((wait) => setTimeout(wait, 50));
    assert.equal((await post(server, JSON.stringify(step(3, false)))).status, 204);
    assert.deepEqual((await live).map((event) => event.type), ['run', 'step', 'step', 'step']);
    assert.equal((await post(server, JSON.stringify(step(4, false)), 'text/plain')).status, 415);
    assert.equal((await post(server, '{"type":"exec","data":{}}')).status, 400);
    assert.equal((await post(server, 'not json')).status, 400);
  } finally {
    await server.close();
  }
});

test('a taken port is a usage error that names it', async () => {
  const first = await startLabServer({ port: 0 });
  try {
    await assert.rejects(startLabServer({ port: first.port }), { name: 'UsageError', message: `port ${first.port} is already in use` });
  } finally {
    await first.close();
  }
});
