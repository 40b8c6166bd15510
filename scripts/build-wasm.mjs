// Compiles the AssemblyScript kernels in src/tensor/wasm/ to build/*.wasm (nothing prebuilt is fetched).
// The memory is imported and shared so the host can grow it without detaching any Float32Array view.
import { readdirSync, mkdirSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const sourceDir = join(repoRoot, 'src/tensor/wasm');
const buildDir = join(repoRoot, 'build');
const ascPath = join(repoRoot, 'node_modules/assemblyscript/bin/asc.js');
// 65536 pages of 64 KiB: the whole 4 GiB a 32-bit WebAssembly memory can address
const maximumPages = '65536';

if (!existsSync(sourceDir)) process.exit(0);
mkdirSync(buildDir, { recursive: true });
for (const file of readdirSync(sourceDir).filter((f) => f.endsWith('.as.ts'))) {
  const out = join(buildDir, file.replace(/\.as\.ts$/, '.wasm'));
  execFileSync(
    process.execPath,
    [ascPath, join(sourceDir, file), '-o', out, '-O3', '--noAssert', '--runtime', 'stub', '--enable', 'simd,threads',
      '--importMemory', '--sharedMemory', '--maximumMemory', maximumPages, '--use', 'abort='],
    { stdio: 'inherit' },
  );
}
