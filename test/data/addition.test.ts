import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  additionAccuracy,
  additionProblems,
  additionText,
  additionTokenizer,
  type AdditionProblem,
  type NextTokenLogits,
} from '../../src/data/addition.js';

const digitCounts = fc.integer({ min: 1, max: 6 });

test('every generated line is a+b=s at fixed width, and s really is the sum', () => {
  fc.assert(
    fc.property(digitCounts, fc.integer({ min: 1, max: 200 }), fc.nat(), (digits, lines, seed) => {
      const text = additionText({ digits }, lines, seed);
      assert.ok(text.endsWith('\n'));
      const rows = text.slice(0, -1).split('\n');
      assert.equal(rows.length, lines);
      for (const row of rows) {
        const match = new RegExp(`^(\\d{${digits}})\\+(\\d{${digits}})=(\\d{${digits + 1}})$`).exec(row);
        assert.ok(match, row);
        assert.equal(BigInt(match[1]!) + BigInt(match[2]!), BigInt(match[3]!));
      }
    }),
  );
});

test('problems are determined by the seed and use the whole operand range', () => {
  assert.deepEqual(additionProblems({ digits: 2 }, 50, 4), additionProblems({ digits: 2 }, 50, 4));
  assert.notDeepEqual(additionProblems({ digits: 2 }, 50, 4), additionProblems({ digits: 2 }, 50, 5));
  const operands = additionProblems({ digits: 1 }, 500, 1).flatMap(({ a, b }) => [a, b]);
  assert.deepEqual([...new Set(operands)].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('every character of the task is in its vocabulary', () => {
  const tokenizer = additionTokenizer();
  const text = additionText({ digits: 3 }, 100, 0);
  assert.equal(tokenizer.decode(tokenizer.encode(text)), text);
  assert.equal(tokenizer.vocabSize, 13);
});

/**
 * A hand-made model: reads the last line of each context, works out the sum with BigInt and
 * puts all its logit mass on the right next character, except where `wrong` says to answer 9 - digit.
 */
function oracle(digits: number, wrong: (problem: AdditionProblem, answerIndex: number) => boolean): { logits: NextTokenLogits; calls: number[] } {
  const tokenizer = additionTokenizer();
  const calls: number[] = [];
  const logits: NextTokenLogits = (contexts, rows, length) => {
    calls.push(length);
    assert.equal(contexts.length, rows * length);
    const out = new Float32Array(rows * tokenizer.vocabSize).fill(-1);
    for (let row = 0; row < rows; row++) {
      const text = tokenizer.decode(contexts.subarray(row * length, (row + 1) * length));
      const line = text.slice(text.lastIndexOf('\n') + 1);
      const [a, rest] = line.split('+') as [string, string];
      const [b, soFar] = rest.split('=') as [string, string];
      const sum = (BigInt(a) + BigInt(b)).toString().padStart(digits + 1, '0');
      let next = sum[soFar.length]!;
      if (wrong({ a: Number(a), b: Number(b) }, soFar.length)) next = String(9 - Number(next));
      out[row * tokenizer.vocabSize + tokenizer.encode(next)[0]!] = 5;
    }
    return out;
  };
  return { logits, calls };
}

test('accuracy is exact match by greedy decoding, checked against hand-made oracles', () => {
  const digits = 3;
  const problems = additionProblems({ digits }, 300, 11);
  const perfect = oracle(digits, () => false);
  assert.deepEqual(additionAccuracy({ digits }, problems, perfect.logits), { correct: 300, total: 300, accuracy: 1 });
  assert.deepEqual(perfect.calls, [9, 10, 11, 12]); // "\n123+456=" then one more token per answer digit
  const oddA = problems.filter((p) => p.a % 2 === 1).length;
  const wrongWhenEven = oracle(digits, (p) => p.a % 2 === 0);
  assert.equal(additionAccuracy({ digits }, problems, wrongWhenEven.logits).correct, oddA);
  // One wrong digit, the last one, is enough to fail a problem.
  const lastDigitWrongWhenEven = oracle(digits, (p, index) => p.a % 2 === 0 && index === digits);
  assert.equal(additionAccuracy({ digits }, problems, lastDigitWrongWhenEven.logits).correct, oddA);
  assert.equal(additionAccuracy({ digits }, problems, oracle(digits, () => true).logits).accuracy, 0);
});

test('a callback returning the wrong number of logits is refused', () => {
  assert.throws(() => additionAccuracy({ digits: 2 }, additionProblems({ digits: 2 }, 3, 0), () => new Float32Array(5)), RangeError);
});
