/**
 * The Python interpreter that tests comparing with PyTorch run: CONVEYOR_PYTHON, else the repo's own .venv
 * (what `.ci/run` makes when it can install PyTorch), else Debian's python3.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const repoVenv = new URL('../../.venv/bin/python', import.meta.url).pathname;

export const python = process.env.CONVEYOR_PYTHON ?? (existsSync(repoVenv) ? repoVenv : '/usr/bin/python3');

/** false when `python` can import the modules, else the reason to skip. */
export function missingPython(modules: string): false | string {
  const probe = spawnSync(python, ['-c', `import ${modules}`], { encoding: 'utf8' });
  return probe.status === 0 ? false : `${python} cannot import ${modules} (${(probe.error?.message ?? probe.stderr.trim().split('\n').pop()) || 'unknown reason'})`;
}
