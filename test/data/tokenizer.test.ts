import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CharTokenizer } from '../../src/data/tokenizer.js';
import { UsageError } from '../../src/errors.js';

const unicodeText = fc.string({ unit: 'binary', minLength: 1, maxLength: 200 });

test('encode then decode returns any unicode text unchanged', () => {
  fc.assert(
    fc.property(unicodeText, (text) => {
      const tokenizer = CharTokenizer.fromText(text);
      assert.equal(tokenizer.decode(tokenizer.encode(text)), text);
    }),
  );
});

test('one token per code point; ids follow code point order; vocabulary = distinct code points', () => {
  fc.assert(
    fc.property(unicodeText, (text) => {
      const tokenizer = CharTokenizer.fromText(text);
      const codePoints: number[] = [];
      for (let i = 0; i < text.length; ) {
        const point = text.codePointAt(i)!;
        codePoints.push(point);
        i += point > 0xffff ? 2 : 1;
      }
      const ids = tokenizer.encode(text);
      assert.equal(ids.length, codePoints.length);
      assert.equal(tokenizer.vocabSize, new Set(codePoints).size);
      for (let i = 0; i < ids.length; i++) {
        for (let j = 0; j < ids.length; j++) {
          assert.equal(Math.sign(ids[i]! - ids[j]!), Math.sign(codePoints[i]! - codePoints[j]!));
        }
      }
    }),
    { numRuns: 50 },
  );
});

test('the vocabulary survives a JSON round trip and encodes the same ids', () => {
  fc.assert(
    fc.property(unicodeText, (text) => {
      const tokenizer = CharTokenizer.fromText(text);
      const reloaded = CharTokenizer.fromJson(JSON.parse(JSON.stringify(tokenizer.toJson())), 'vocabulary.json');
      assert.deepEqual(reloaded.symbols, tokenizer.symbols);
      assert.deepEqual(reloaded.encode(text), tokenizer.encode(text));
    }),
  );
});

test('astral characters sort by code point, not by UTF-16 unit', () => {
  // U+1F600 is D83D DE00 in UTF-16, which a unit-wise sort would place before U+FF01.
  const tokenizer = CharTokenizer.fromText('\u{1F600}\uFF01a');
  assert.deepEqual(tokenizer.symbols, ['a', '\uFF01', '\u{1F600}']);
});

test('an empty text, an unknown character and a malformed vocabulary are usage errors', () => {
  assert.throws(() => CharTokenizer.fromText('', 'input.txt'), (e: unknown) => e instanceof UsageError && /input\.txt is empty/.test(e.message));
  const tokenizer = CharTokenizer.fromText('abc');
  assert.throws(() => tokenizer.encode('abz', 'prompt'), (e: unknown) => e instanceof UsageError && /prompt contains "z" \(U\+007A\)/.test(e.message));
  const malformed: unknown[] = [
    null,
    [],
    { kind: 'bpe', symbols: ['a'] },
    { kind: 'characters', symbols: [] },
    { kind: 'characters', symbols: ['ab'] },
    { kind: 'characters', symbols: ['b', 'a'] },
    { kind: 'characters', symbols: ['a', 'a'] },
    { kind: 'characters', symbols: ['a', 7] },
  ];
  for (const value of malformed) {
    assert.throws(() => CharTokenizer.fromJson(value, 'ckpt/vocabulary.json'), (e: unknown) => e instanceof UsageError && e.message.includes('ckpt/vocabulary.json'), JSON.stringify(value));
  }
});
