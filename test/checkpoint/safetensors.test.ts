import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../../src/checkpoint/safetensors.js';
import { UsageError } from '../../src/errors.js';

const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));
/** 8-byte little-endian length, written byte by byte. */
const u64le = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff, 0, 0, 0, 0];

test('the file layout matches a buffer built by hand from the format description', () => {
  const json = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1,1],"data_offsets":[8,12]}}';
  assert.equal(json.length, 141);
  const padded = json + " ".repeat(3); // 144 = 18 * 8
  const expected = Uint8Array.from([
    ...u64le(144),
    ...ascii(padded),
    0x00, 0x00, 0xc0, 0x3f, // 1.5  = 0x3FC00000
    0x00, 0x00, 0x00, 0xc0, // -2   = 0xC0000000
    0x00, 0x00, 0x80, 0x3e, // 0.25 = 0x3E800000
  ]);
  const encoded = encodeSafetensors(
    [
      { name: 'a', shape: [2], data: Float32Array.of(1.5, -2) },
      { name: 'b', shape: [1, 1], data: Float32Array.of(0.25) },
    ],
    { format: 'pt' },
  );
  assert.deepEqual(encoded, expected);
});

test('reads a file from another writer: unpadded header, keys not in data order, no metadata', () => {
  const json = '{"second":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"first":{"data_offsets":[0,4],"shape":[],"dtype":"F32"}}';
  const bytes = Uint8Array.from([...u64le(json.length), ...ascii(json), 0x00, 0x00, 0x80, 0xbf, 0x00, 0x00, 0x20, 0x41]); // -1, 10
  const { tensors, metadata } = decodeSafetensors(bytes, 'other.safetensors');
  assert.deepEqual(metadata, {});
  assert.deepEqual([...tensors.keys()], ['first', 'second']);
  assert.deepEqual(tensors.get('first'), { name: 'first', shape: [], data: Float32Array.of(-1) });
  assert.deepEqual(tensors.get('second'), { name: 'second', shape: [1], data: Float32Array.of(10) });
});

/** Tensors with arbitrary float32 bit patterns (NaN payloads, -0, subnormals, infinities). */
const tensorSets = fc
  .uniqueArray(fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((name) => name !== '__metadata__'), { maxLength: 6 })
  .chain((names) =>
    fc.tuple(
      ...names.map((name) =>
        fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }).chain((shape) =>
          fc
            .array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { minLength: shape.reduce((p, s) => p * s, 1), maxLength: shape.reduce((p, s) => p * s, 1) })
            .map((bits): NamedTensor => ({ name, shape, data: new Float32Array(Uint32Array.from(bits).buffer) })),
        ),
      ),
    ),
  );

test('any set of tensors and metadata round-trips bit for bit', () => {
  fc.assert(
    fc.property(tensorSets, fc.dictionary(fc.string({ minLength: 1 }).filter((k) => k !== '__proto__'), fc.string()), (tensors, metadata) => {
      const bytes = encodeSafetensors(tensors, metadata);
      assert.equal(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8, 0);
      const decoded = decodeSafetensors(bytes, 'x.safetensors');
      assert.deepEqual(decoded.metadata, { ...metadata });
      assert.equal(decoded.tensors.size, tensors.length);
      for (const { name, shape, data } of tensors) {
        const back = decoded.tensors.get(name)!;
        assert.deepEqual(back.shape, shape);
        assert.deepEqual(new Uint32Array(back.data.buffer), new Uint32Array(data.buffer));
      }
    }),
  );
});

test('a tensor may be named like an object property ("__proto__", "constructor")', () => {
  const tensors: NamedTensor[] = [
    { name: '__proto__', shape: [1], data: Float32Array.of(1.5) },
    { name: 'constructor', shape: [2], data: Float32Array.of(-2, 3) },
  ];
  const decoded = decodeSafetensors(encodeSafetensors(tensors), 'names.safetensors');
  assert.deepEqual([...decoded.tensors.keys()], ['__proto__', 'constructor']);
  assert.deepEqual([...decoded.tensors.get('__proto__')!.data], [1.5]);
  assert.deepEqual([...decoded.tensors.get('constructor')!.data], [-2, 3]);
});

test('a file cut short anywhere is a usage error naming the file, never a partial read', () => {
  fc.assert(
    fc.property(tensorSets, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (tensors, cut) => {
      const bytes = encodeSafetensors(tensors, { format: 'pt' });
      const truncated = bytes.subarray(0, Math.floor(cut * bytes.length));
      assert.throws(() => decodeSafetensors(truncated, 'cut.safetensors'), (e: unknown) => e instanceof UsageError && e.message.startsWith('cut.safetensors '));
    }),
  );
});

/** A valid two-tensor file whose header text the corruption cases rewrite. */
function fileWithHeader(json: string, dataBytes = 12): Uint8Array {
  return Uint8Array.from([...u64le(json.length), ...ascii(json), ...new Array<number>(dataBytes).fill(0)]);
}
const entry = (name: string, shape: number[], from: number, to: number, dtype = 'F32') => `"${name}":{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":[${from},${to}]}`;

test('every malformed header is a one-line usage error naming the file and the tensor', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', Uint8Array.of(1, 2, 3), /fewer than the 8-byte header length/],
    ['header longer than file', Uint8Array.from([...u64le(1000), ...ascii('{}')]), /header claims 1000 bytes/],
    ['absurd header length', Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0x80, 0x7b, 0x7d), /header claims 9223372036854775808 bytes/],
    ['header not UTF-8', Uint8Array.from([...u64le(2), 0xff, 0xfe]), /header is not UTF-8/],
    ['header not JSON', fileWithHeader('{"a":', 0), /header is not JSON/],
    ['header is an array', fileWithHeader('[1,2]', 0), /header is not a JSON object/],
    ['metadata not strings', fileWithHeader('{"__metadata__":{"step":3}}', 0), /__metadata__\.step is not a string/],
    ['wrong dtype', fileWithHeader(`{${entry('w', [2], 0, 4, 'F16')}}`, 4), /tensor w has dtype "F16"; Conveyor reads F32 only/],
    ['negative size', fileWithHeader(`{${entry('w', [-1], 0, 4)}}`, 4), /tensor w has shape \[-1\]/],
    ['offsets reversed', fileWithHeader(`{${entry('w', [1], 4, 0)}}`, 4), /tensor w has data_offsets \[4,0\]/],
    ['span differs from shape', fileWithHeader(`{${entry('w', [3], 0, 8)}}`, 8), /tensor w has shape \[3\] \(12 bytes\) but data_offsets span 8 bytes/],
    ['gap', fileWithHeader(`{${entry('a', [1], 0, 4)},${entry('b', [1], 8, 12)}}`), /tensor b starts at byte 8 of the data, expected 4/],
    ['overlap', fileWithHeader(`{${entry('a', [2], 0, 8)},${entry('b', [2], 4, 12)}}`), /tensor b starts at byte 4 of the data, expected 8/],
    ['data truncated', fileWithHeader(`{${entry('a', [1], 0, 4)},${entry('b', [2], 4, 12)}}`, 10), /tensor b ends at byte 12 but the data section has only 10/],
    ['trailing bytes', fileWithHeader(`{${entry('a', [1], 0, 4)}}`, 6), /the data section has 6 bytes but the tensors cover 4/],
    ['entry not an object', fileWithHeader('{"w":7}', 0), /tensor w has no \{dtype, shape, data_offsets\} entry/],
  ];
  for (const [label, bytes, pattern] of cases) {
    assert.throws(
      () => decodeSafetensors(bytes, 'ckpt/model.safetensors'),
      (e: unknown) => e instanceof UsageError && e.message.startsWith('ckpt/model.safetensors is not a valid safetensors checkpoint: ') && pattern.test(e.message) && !e.message.includes('\n'),
      label,
    );
  }
});
