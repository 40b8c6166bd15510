// Compiles the AssemblyScript kernels in src/tensor/wasm/ to build/*.wasm (nothing prebuilt is fetched).
import { readdirSync, mkdirSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const sourceDir = 'src/tensor/wasm';
if (!existsSync(sourceDir)) process.exit(0);
mkdirSync('build', { recursive: true });
for (const file of readdirSync(sourceDir).filter((f) => f.endsWith('.as.ts'))) {
  const out = join('build', file.replace(/\.as\.ts$/, '.wasm'));
  execFileSync(process.execPath, ['node_modules/assemblyscript/bin/asc.js', join(sourceDir, file), '-o', out, '-O3', '--noAssert', '--runtime', 'stub', '--enable', 'simd'], { stdio: 'inherit' });
}
