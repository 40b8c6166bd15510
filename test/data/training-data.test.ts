import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { textTrainingData } from '../../src/data/text-training-data.js';
import { additionTrainingData } from '../../src/data/training-data.js';
import { sampleBatch, validationBatches } from '../../src/data/batches.js';
import { UsageError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'conveyor-training-data-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('the built-in task splits at a line boundary and holds out accuracy problems absent from the corpus', () => {
  const data = additionTrainingData(4, { digits: 3 }, 1000);
  assert.equal(data.alignment, 13);
  assert.equal(data.train.length, 900 * 13);
  assert.equal(data.validation.length, 100 * 13);
  const text = data.tokenizer.decode(data.train) + data.tokenizer.decode(data.validation);
  const corpus = new Set(text.slice(0, -1).split('\n').map((line) => line.slice(0, 7)));
  assert.equal(data.addition!.problems.length, 200);
  for (const { a, b } of data.addition!.problems) assert.ok(!corpus.has(`${String(a).padStart(3, '0')}+${String(b).padStart(3, '0')}`));
  assert.deepEqual(additionTrainingData(4, { digits: 3 }, 1000), data);
  assert.notDeepEqual(additionTrainingData(5, { digits: 3 }, 1000).train, data.train);
});

test('aligned windows start on line starts, in training and validation batches', () => {
  const data = additionTrainingData(1, { digits: 3 }, 500);
  const shape = { batchSize: 8, seqLen: 20, alignment: data.alignment };
  const batches = [...Array.from({ length: 30 }, (_, i) => sampleBatch(data.train, shape, 2, i)), ...validationBatches(data.validation, shape, 3)];
  const starts = new Set<string>();
  for (const { batchSize, seqLen, inputs, targets } of batches) {
    for (let b = 0; b < batchSize; b++) {
      const row = data.tokenizer.decode(inputs.subarray(b * seqLen, (b + 1) * seqLen));
      assert.match(row, /^\d{3}\+\d{3}=\d{4}\n\d{3}\+\d{3}/, 'every window begins with a whole line');
      assert.equal(data.tokenizer.decode(targets.subarray(b * seqLen, (b + 1) * seqLen)), row.slice(1) + data.tokenizer.decode([targets[(b + 1) * seqLen - 1]!]));
      starts.add(row);
    }
  }
  assert.ok(starts.size > 200, 'windows come from many places');
});

test('--data FILE: the file vocabulary and a 10% tail for validation; an unreadable file is a usage error', () => {
  const path = join(dir, 'tiny.txt');
  writeFileSync(path, 'abcab'.repeat(20));
  const data = textTrainingData(path);
  assert.deepEqual(data.tokenizer.symbols, ['a', 'b', 'c']);
  assert.equal(data.alignment, 1);
  assert.equal(data.train.length + data.validation.length, 100);
  assert.equal(data.validation.length, 10);
  assert.equal(data.addition, undefined);
  assert.throws(() => textTrainingData(join(dir, 'missing.txt')), UsageError);
});
