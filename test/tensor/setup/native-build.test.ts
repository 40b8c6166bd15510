import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('../../../../', import.meta.url).pathname;

test('a failed native build leaves the install successful, says so in one line and keeps no addon', { timeout: 120_000 }, () => {
  const copy = mkdtempSync(join(tmpdir(), 'conveyor-native-'));
  try {
    for (const part of ['binding.gyp', 'native', 'scripts/build-native.mjs']) cpSync(join(repo, part), join(copy, part), { recursive: true });
    // a compiler that is not there: what a machine without g++ gives node-gyp
    const run = spawnSync(process.execPath, [join(copy, 'scripts/build-native.mjs'), copy], {
      encoding: 'utf8',
      env: { ...process.env, CXX: join(copy, 'no-such-compiler'), CC: join(copy, 'no-such-compiler') },
    });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0]!, /^conveyor: native kernels not built \(.+\); the WebAssembly kernels will be used$/);
    assert.equal(existsSync(join(copy, 'build/Release/conveyor_native.node')), false);
    assert.match(readFileSync(join(copy, 'build/native-build.log'), 'utf8'), /no-such-compiler/);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});
