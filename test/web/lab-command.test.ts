// `conveyor lab` as a person runs it: a URL to open, the page behind it, Ctrl-C to stop; bad ports in one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { startLabServer } from '../../src/cli/lab-server.js';

const bin = new URL('../../../bin/conveyor.js', import.meta.url).pathname;

test('conveyor lab prints where the page is, serves it, and stops on Ctrl-C', async () => {
  const lab = spawn(process.execPath, [bin, 'lab', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let printed = '';
    lab.stdout.setEncoding('utf8');
    while (!/\n/.test(printed)) printed += (await once(lab.stdout, 'data'))[0];
    const url = /^Conveyor lab at (http:\/\/127\.0\.0\.1:\d+\/) \(Ctrl-C stops it\)$/m.exec(printed)?.[1];
    assert.ok(url, printed);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.match(await page.text(), /<title>Conveyor lab<\/title>/);
    lab.kill('SIGINT');
    const [code] = await once(lab, 'exit');
    assert.equal(code, 0);
  } finally {
    lab.kill('SIGKILL');
  }
});

test('a port out of range or already taken is one line and exit code 2', async () => {
  const wrong = spawnSync(process.execPath, [bin, 'lab', '--port', '70000'], { encoding: 'utf8' });
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /^conveyor: --port must be a port number from 0 to 65535, such as 8080, got '70000'$/m);
  const taken = await startLabServer({ port: 0 });
  try {
    const busy = spawn(process.execPath, [bin, 'lab', '--port', String(taken.port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    busy.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const [code] = await once(busy, 'exit');
    assert.equal(code, 2);
    assert.equal(stderr, `conveyor: --port ${taken.port} is already in use; choose another port, e.g. --port ${taken.port + 1}\n`);
  } finally {
    await taken.close();
  }
});
