// Runs the kernel tests (dist/test/tensor/ and ops/, not setup/) again under every backend the full `npm test` run did not
// use: the WebAssembly kernels, and each other native table this CPU can run (the AVX-512 code path is
// also built for AVX2, so it is tested on hosts without AVX-512). Exits with the first failing run's code.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const tests = ['../dist/test/tensor/', '../dist/test/tensor/ops/'].flatMap((folder) => {
  const path = new URL(folder, import.meta.url).pathname;
  return readdirSync(path).filter((file) => file.endsWith('.test.js')).map((file) => path + file);
});
const addonFile = new URL('../build/Release/conveyor_native.node', import.meta.url).pathname;

/** The native tables besides the CPU's best, or null when the addon is not built (the suite ran on WebAssembly). */
function otherNativeTables() {
  try {
    const addon = createRequire(import.meta.url)(addonFile);
    const best = addon.isa();
    if (best === null) return null;
    const runnable = ['avx2', 'avx512', 'avx512-on-avx2'].filter((table) => {
      try {
        addon.configure(1, table);
        return true;
      } catch {
        return false;
      }
    });
    return runnable.filter((table) => table !== best); // the best one ran in the full suite
  } catch {
    return null;
  }
}

const others = otherNativeTables();
const runs = others === null ? [] : [{ CONVEYOR_KERNELS: 'wasm' }, ...others.map((table) => ({ CONVEYOR_NATIVE_ISA: table }))];
for (const environment of runs) {
  const label = Object.entries(environment).map(([name, value]) => `${name}=${value}`).join(' ');
  process.stdout.write(`# kernel tests with ${label}\n`);
  const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', ...tests], { stdio: 'inherit', env: { ...process.env, ...environment } });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
