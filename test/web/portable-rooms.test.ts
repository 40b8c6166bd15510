// The rooms a bundler takes into the browser import no Node module, however deep the import chain goes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repository = resolve(dirname(fileURLToPath(import.meta.url)), '../../..'); // dist/test/web -> the repository
const packageJson = JSON.parse(readFileSync(join(repository, 'package.json'), 'utf8'));

/** Entry points a page may import: every package export, the page's own entry, the rank loop and the training loop. */
const entries = [
  'src/schedule/index.ts', 'src/trace/index.ts', 'src/planner/index.ts', 'src/web/main.tsx',
  'src/runtime/rank.ts', 'src/runtime/pipeline-training.ts',
];

/**
 * Module specifiers a TypeScript source loads: static imports and re-exports, side-effect and dynamic imports
 * (type-only ones are erased), and the workers it starts with `new URL('./file', import.meta.url)`.
 */
function specifiers(source: string): string[] {
  const found: string[] = [];
  const loaded = source.replace(/^\s*(import|export)\s+type\b[^;]*;/gm, '');
  const patterns = [
    /\bfrom\s+['"]([^'"]+)['"]/g, /\bimport\s+['"]([^'"]+)['"]/g, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bnew URL\(\s*['"](\.[^'"]+\.(?:ts|tsx|js))['"]\s*,\s*import\.meta\.url/g,
  ];
  for (const pattern of patterns) for (const match of loaded.matchAll(pattern)) found.push(match[1]!);
  return found;
}

/** Every source file reachable from `entry` through relative imports, and the bare specifiers they use: [file, specifier][]. */
function reachable(entry: string): { files: Set<string>; bare: [string, string][] } {
  const files = new Set<string>();
  const bare: [string, string][] = [];
  const queue = [join(repository, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const specifier of specifiers(readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) {
        bare.push([file.slice(repository.length + 1), specifier]);
        continue;
      }
      if (/\.(css|svg|png|wasm)(\?\w+)?$/.test(specifier)) continue; // assets, not modules
      const target = resolve(dirname(file), specifier);
      const candidates = [target.replace(/\.js$/, '.ts'), target.replace(/\.js$/, '.tsx'), target];
      const source = candidates.find((candidate) => {
        try {
          readFileSync(candidate);
          return true;
        } catch {
          return false;
        }
      });
      assert.ok(source, `${file}: cannot find ${specifier}`);
      queue.push(source);
    }
  }
  return { files, bare };
}

const nodeModules = new Set(builtinModules);

test('schedule, trace, planner, the page with its workers, the rank loop and the training loop import no node: module, however deep', () => {
  for (const entry of entries) {
    const { files, bare } = reachable(entry);
    if (entry.startsWith('src/web/')) assert.ok(files.size > 40, `the page reaches the rooms it shows (${files.size} files)`);
    const offending = bare.filter(([, specifier]) => specifier.startsWith('node:') || nodeModules.has(specifier.split('/')[0]!));
    assert.deepEqual(offending, [], `${entry} reaches Node modules`);
  }
});

test('a bundler reaches the pure rooms through the package exports', async () => {
  for (const room of ['schedule', 'trace', 'planner']) {
    const target = packageJson.exports[`./${room}`];
    assert.equal(target.default, `./dist/src/${room}/index.js`);
    assert.equal(target.types, `./dist/src/${room}/index.d.ts`);
    readFileSync(join(repository, target.types)); // the declarations exist
  }
  // Self-reference by package name goes through the same map a bundler reads.
  const schedule = await import('conveyor/schedule');
  const planner = await import('conveyor/planner');
  const trace = await import('conveyor/trace');
  const generated = schedule.generateSchedule('1f1b', { ranks: 2, microbatches: 2 });
  assert.match(trace.drawSvg(generated, schedule.simulate(generated, schedule.uniformCosts(generated, { F: 1, B: 2, I: 1, W: 1 }))), /^<svg/);
  assert.equal(typeof planner.searchPlans, 'function');
});
