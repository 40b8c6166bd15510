/** Runs the real CLI (bin/conveyor.js) from a test, as a user would. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export const bin = new URL('../../bin/conveyor.js', import.meta.url).pathname;
const run = promisify(execFile);

/** Resolves with the exit code, stdout and stderr whatever the code; many can run at once. */
export async function conveyorAsync(args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { status: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
