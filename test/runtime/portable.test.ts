import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = new URL('../../../', import.meta.url).pathname;

/** Every file of src/runtime/ that `entry` reaches through relative imports inside src/runtime/. */
function runtimeImports(entry: string): Map<string, string> {
  const seen = new Map<string, string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const source = readFileSync(file, 'utf8');
    seen.set(file, source);
    for (const [, specifier] of source.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)) {
      if (!specifier!.startsWith('.')) continue;
      const target = join(dirname(file), specifier!.replace(/\.js$/, '.ts'));
      if (target.startsWith(join(root, 'src/runtime'))) visit(target);
    }
  };
  visit(join(root, entry));
  return seen;
}

test('the rank loop and what it imports in runtime/ use no node: module, so it runs in a browser worker', () => {
  const files = runtimeImports('src/runtime/rank.ts');
  assert.ok(files.size >= 4, [...files.keys()].join(', '));
  for (const [file, source] of files) {
    assert.doesNotMatch(source, /from ['"]node:|(?<![.\w])require\(|(?<![.\w])process\./, relative(root, file));
  }
});
