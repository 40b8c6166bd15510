import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTextFile } from '../../src/data/text-file.js';
import { UsageError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'conveyor-text-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function usageErrorMatching(pattern: RegExp) {
  return (error: unknown) => error instanceof UsageError && pattern.test(error.message) && !error.message.includes('\n');
}

test('reads UTF-8 text with multi-byte characters and drops a byte order mark', () => {
  const path = join(dir, 'ok.txt');
  writeFileSync(path, Buffer.from([0xef, 0xbb, 0xbf, 0x68, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80])); // BOM "hé😀"
  assert.equal(readTextFile(path), 'hé\u{1F600}');
});

test('a missing file, a directory, an empty file and invalid UTF-8 are one-line usage errors naming the file', () => {
  assert.throws(() => readTextFile(join(dir, 'nope.txt')), usageErrorMatching(/nope\.txt does not exist/));
  assert.throws(() => readTextFile(dir), usageErrorMatching(/is not a regular file/));
  const empty = join(dir, 'empty.txt');
  writeFileSync(empty, '');
  assert.throws(() => readTextFile(empty), usageErrorMatching(/empty\.txt is empty; give a UTF-8 text file/));
  const latin1 = join(dir, 'latin1.txt');
  writeFileSync(latin1, Buffer.from([0x63, 0x61, 0x66, 0xe9])); // "café" in Latin-1: a lone continuation-less lead byte
  assert.throws(() => readTextFile(latin1), usageErrorMatching(/latin1\.txt is not valid UTF-8/));
  const overlong = join(dir, 'overlong.txt');
  writeFileSync(overlong, Buffer.from([0xc0, 0xaf])); // overlong "/" is forbidden in UTF-8
  assert.throws(() => readTextFile(overlong), usageErrorMatching(/overlong\.txt is not valid UTF-8/));
});
