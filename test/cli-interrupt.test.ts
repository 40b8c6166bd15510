/** Ctrl-C (SIGINT) or SIGTERM during --save-every leaves no temporary files and says which step is safe on disk. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = new URL('../../bin/conveyor.js', import.meta.url).pathname;
const tiny = ['--layers', '1', '--embd', '8', '--heads', '2', '--seq-len', '12', '--batch-size', '4', '--microbatches', '2', '--stages', '2'];

/** Starts a long run that saves every step, and signals it once it has saved and taken a few steps more. */
async function interrupted(signal: NodeJS.Signals, dir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, 'train', ...tiny, '--steps', '100000', '--save', dir, '--save-every', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  let running = true;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => ((running = false), resolve(code))));
  const deadline = Date.now() + 90_000;
  const ready = () => existsSync(join(dir, 'model.safetensors')) && /step 3\//.test(stdout);
  while (running && !ready() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  child.kill(signal);
  return { code: await exited, stdout, stderr };
}

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`${signal} during --save-every: exit ${code}, no temporary files, and the step the checkpoint holds, which resumes`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conveyor-interrupt-'));
    const result = await interrupted(signal, dir);
    assert.equal(result.code, code, result.stderr);
    const said = /^conveyor: interrupted during step (\d+) of 100000; the checkpoint in (.*) holds step (\d+): continue with --resume \2$/m.exec(result.stderr);
    assert.ok(said, result.stderr);
    const [during, held] = [Number(said[1]), Number(said[3])];
    assert.ok(held >= 1 && held < during, `${held} before ${during}`);
    assert.deepEqual(readdirSync(dir).filter((name) => name.includes('.tmp-')), []);
    const resumed = spawnSync(process.execPath, [bin, 'train', '--resume', dir, '--steps', String(held + 1), '--stages', '1', '--json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.deepEqual(JSON.parse(resumed.stdout).steps.map(({ step }: { step: number }) => step), [held + 1]);
  });
}
