import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDriverMessage, decodeRankReply, encodeMessage, WireError } from '../../src/runtime/wire.js';
import type { DriverMessage, RankReply } from '../../src/runtime/protocol.js';

test('a control message keeps its typed arrays and its non-finite numbers', () => {
  const message: DriverMessage = { type: 'step', step: 3, tokens: [Int32Array.of(1, 2, 3), Int32Array.of(4, 5, 6)] };
  const { json, attachments } = encodeMessage(message);
  assert.equal(attachments.length, 2);
  assert.doesNotMatch(new TextDecoder().decode(json), /1,2,3/, 'arrays travel as attachments, not JSON');
  assert.deepEqual(decodeDriverMessage(json, attachments), message);
  const reply: RankReply = { type: 'evaluated', losses: [Number.NaN, Number.POSITIVE_INFINITY, 0.1 + 0.2] };
  const encoded = encodeMessage(reply);
  assert.deepEqual(decodeRankReply(encoded.json, encoded.attachments), reply);
});

test('what does not fit the protocol is a WireError that says where', () => {
  const encode = (value: object) => encodeMessage(value);
  const cases: [ReturnType<typeof encode>, RegExp][] = [
    [encode({ type: 'apply', learningRate: 'fast', clipScale: 1 }), /is not a driver message: learningRate/],
    [encode({ type: 'format-disk' }), /is not a driver message/],
    [{ json: new TextEncoder().encode('{"type":"collect"'), attachments: [] }, /is not JSON/],
    [{ json: encode({ type: 'collect' }).json, attachments: [new Float32Array(1)] }, /leaves 1 attachment\(s\) unnamed/],
    [{ json: new TextEncoder().encode('{"type":"step","step":1,"tokens":[{"$attachment":3}]}'), attachments: [] }, /names attachment 3 of 0/],
  ];
  for (const [{ json, attachments }, message] of cases) {
    assert.throws(() => decodeDriverMessage(json, attachments), (error: Error) => error instanceof WireError && message.test(error.message));
  }
});
