import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeHeader, frameArray, FrameError, FrameReader, headerBytes, tensorHeader, type FrameLimits } from '../../src/runtime/frames.js';

const roomy: FrameLimits = { handshake: 1 << 12, control: 1 << 16, attachment: 1 << 16, tensor: 1 << 16 };

/** A frame's bytes: its header, then the array's own bytes. */
function frameBytes(data: Float32Array, fields: Parameters<typeof tensorHeader>[2]): Uint8Array {
  const header = encodeHeader(tensorHeader('tensor', data, fields));
  const bytes = new Uint8Array(headerBytes + data.byteLength);
  bytes.set(header);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), headerBytes);
  return bytes;
}

/** Splits bytes at the given cut points (any order, any count). */
function pieces(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const result: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    result.push(bytes.subarray(start, point));
    start = point;
  }
  return result;
}

test('tensors arrive whole and bit for bit, however the stream is cut', () => {
  const tensor = fc.record({
    values: fc.array(fc.float({ noNaN: false }), { minLength: 1, maxLength: 64 }),
    stage: fc.integer({ min: -1, max: 7 }),
    microbatch: fc.integer({ min: -1, max: 99 }),
    payload: fc.constantFrom('activation', 'gradient', 'tied-gradient', 'reduce' as const),
  });
  fc.assert(
    fc.property(fc.array(tensor, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 12 }), (tensors, cuts) => {
      const arrays = tensors.map((t) => Float32Array.from(t.values));
      const stream = arrays.map((data, i) => frameBytes(data, { payload: tensors[i]!.payload, stage: tensors[i]!.stage, microbatch: tensors[i]!.microbatch, shape: [1, data.length] }));
      const all = new Uint8Array(stream.reduce((sum, bytes) => sum + bytes.length, 0));
      let offset = 0;
      for (const bytes of stream) {
        all.set(bytes, offset);
        offset += bytes.length;
      }
      const reader = new FrameReader(roomy);
      const frames = pieces(all, cuts).flatMap((piece) => reader.push(piece));
      assert.equal(frames.length, tensors.length);
      frames.forEach((frame, i) => {
        assert.equal(frame.header.payload, tensors[i]!.payload);
        assert.equal(frame.header.stage, tensors[i]!.stage);
        assert.equal(frame.header.microbatch, tensors[i]!.microbatch);
        assert.deepEqual(frame.header.shape, [1, arrays[i]!.length]);
        assert.deepEqual(new Uint8Array(frameArray(frame).buffer), new Uint8Array(arrays[i]!.buffer));
      });
    }),
  );
});

test('random bytes only ever end in the reader\'s own FrameError, and nothing past the limit is allocated', () => {
  const limits: FrameLimits = { handshake: 64, control: 256, attachment: 1024, tensor: 1024 };
  // half the cases start with a valid magic, so the fuzz gets past the first check
  const magic = new Uint8Array([0x43, 0x56, 0x59, 0x31]);
  fc.assert(
    fc.property(fc.boolean(), fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(), { maxLength: 6 }), (withMagic, noise, cuts) => {
      const bytes = withMagic ? new Uint8Array([...magic, ...noise]) : noise;
      const reader = new FrameReader(limits);
      try {
        for (const piece of pieces(bytes, cuts)) {
          for (const frame of reader.push(piece)) assert.ok(frame.body.byteLength <= limits[frame.header.type]);
        }
      } catch (error) {
        assert.ok(error instanceof FrameError, `not a FrameError: ${String(error)}`);
        // a broken stream stays broken
        assert.throws(() => reader.push(new Uint8Array(1)), FrameError);
      }
    }),
    { numRuns: 2000 },
  );
});

test('each malformed header names what is wrong', () => {
  const good = frameBytes(new Float32Array(4), { payload: 'activation', stage: 1, microbatch: 0, shape: [2, 2] });
  const broken = (offset: number, value: number) => {
    const bytes = good.slice();
    new DataView(bytes.buffer).setUint32(offset, value, true);
    return bytes;
  };
  const cases: [Uint8Array, FrameLimits, RegExp][] = [
    [broken(0, 0x12345678), roomy, /bad magic/],
    [broken(4, 0x00000109), roomy, /unknown frame type 9/],
    [broken(16, 3), roomy, /shape \[3, 2\] has 24 bytes, not 16/],
    [broken(36, 1), roomy, /reserved header bytes/],
    [good, { ...roomy, tensor: 8 }, /tensor frame of 16 bytes is over the 8 this link allows/],
    [good, { ...roomy, tensor: 0 }, /a tensor frame is not expected here/],
  ];
  for (const [bytes, limits, message] of cases) assert.throws(() => new FrameReader(limits).push(bytes), (error: Error) => error instanceof FrameError && message.test(error.message));
});
