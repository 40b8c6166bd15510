import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  additionAccuracy,
  additionLine,
  additionProblems,
  additionText,
  additionTokenizer,
  heldOutProblems,
  type AdditionProblem,
  type NextTokenScores,
} from '../../src/data/addition.js';

const digitCounts = fc.integer({ min: 1, max: 6 });

test('every generated line is a+b=s at fixed width, and s read backwards really is the sum', () => {
  fc.assert(
    fc.property(digitCounts, fc.integer({ min: 1, max: 200 }), fc.nat(), (digits, lines, seed) => {
      const text = additionText({ digits }, lines, seed);
      assert.ok(text.endsWith('\n'));
      const rows = text.slice(0, -1).split('\n');
      assert.equal(rows.length, lines);
      for (const row of rows) {
        const match = new RegExp(`^(\\d{${digits}})\\+(\\d{${digits}})=(\\d{${digits + 1}})$`).exec(row);
        assert.ok(match, row);
        assert.equal(BigInt(match[1]!) + BigInt(match[2]!), BigInt([...match[3]!].reverse().join('')));
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
 * A hand-made model: reads the last line of each context, works out the (reversed) sum with BigInt and
 * puts all its logit mass on the right next character, except where `wrong` says to answer 9 - digit.
 */
function oracle(digits: number, wrong: (problem: AdditionProblem, answerIndex: number) => boolean): { scores: NextTokenScores; calls: number[] } {
  const tokenizer = additionTokenizer();
  const calls: number[] = [];
  const scores: NextTokenScores = (contexts, rows, length) => {
    calls.push(length);
    assert.equal(contexts.length, rows * length);
    const out = new Float32Array(rows * tokenizer.vocabSize).fill(-1);
    for (let row = 0; row < rows; row++) {
      const text = tokenizer.decode(contexts.subarray(row * length, (row + 1) * length));
      const line = text.slice(text.lastIndexOf('\n') + 1);
      const [a, rest] = line.split('+') as [string, string];
      const [b, soFar] = rest.split('=') as [string, string];
      const sum = [...(BigInt(a) + BigInt(b)).toString().padStart(digits + 1, '0')].reverse().join('');
      let next = sum[soFar.length]!;
      if (wrong({ a: Number(a), b: Number(b) }, soFar.length)) next = String(9 - Number(next));
      out[row * tokenizer.vocabSize + tokenizer.encode(next)[0]!] = 5;
    }
    return out;
  };
  return { scores, calls };
}

test('accuracy is exact match by greedy decoding, checked against hand-made oracles', () => {
  const digits = 3;
  const problems = additionProblems({ digits }, 300, 11);
  const perfect = oracle(digits, () => false);
  assert.deepEqual(additionAccuracy({ digits }, problems, perfect.scores), { correct: 300, total: 300, accuracy: 1, digitAccuracy: 1 });
  assert.deepEqual(perfect.calls, [8, 9, 10, 11]); // "123+456=" then one more token per answer digit
  const oddA = problems.filter((p) => p.a % 2 === 1).length;
  const wrongWhenEven = oracle(digits, (p) => p.a % 2 === 0);
  assert.equal(additionAccuracy({ digits }, problems, wrongWhenEven.scores).correct, oddA);
  // One wrong digit, the last one written, is enough to fail a problem.
  const lastDigitWrongWhenEven = oracle(digits, (p, index) => p.a % 2 === 0 && index === digits);
  const lastDigitScore = additionAccuracy({ digits }, problems, lastDigitWrongWhenEven.scores);
  assert.equal(lastDigitScore.correct, oddA);
  assert.equal(lastDigitScore.digitAccuracy, (300 * 4 - (300 - oddA)) / (300 * 4)); // one digit of four wrong per even a
  const allWrong = additionAccuracy({ digits }, problems, oracle(digits, () => true).scores);
  assert.deepEqual([allWrong.accuracy, allWrong.digitAccuracy], [0, 0]);
});

test('a callback returning the wrong number of logits is refused', () => {
  assert.throws(() => additionAccuracy({ digits: 2 }, additionProblems({ digits: 2 }, 3, 0), () => new Float32Array(5)), RangeError);
});

test('lines are written as documented: zero-padded operands, the sum backwards', () => {
  assert.equal(additionLine({ digits: 3 }, { a: 123, b: 456 }), '123+456=9750\n');
  assert.equal(additionLine({ digits: 3 }, { a: 999, b: 1 }), '999+001=0001\n');
  assert.equal(additionLine({ digits: 2 }, { a: 5, b: 7 }), '05+07=210\n');
});

test('held-out problems are distinct and never among the given ones', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 3 }), fc.nat(), (digits, seed) => {
      const seen = additionProblems({ digits }, 2000, seed);
      const heldOut = heldOutProblems({ digits }, 100, seed + 1, seen);
      const key = ({ a, b }: AdditionProblem) => `${a}+${b}`;
      assert.equal(new Set(heldOut.map(key)).size, 100);
      const seenKeys = new Set(seen.map(key));
      assert.ok(heldOut.every((problem) => !seenKeys.has(key(problem))));
    }),
    { numRuns: 20 },
  );
  assert.throws(() => heldOutProblems({ digits: 1 }, 60, 0, []), RangeError); // 100 problems in all
});
