import { UsageError } from '../errors.js';
import { decodeUtf8 } from '../data/text-file.js';

/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor
 * name to { dtype, shape, data_offsets: [begin, end] } (offsets relative to the data section), an optional
 * "__metadata__" object of string values, then the raw little-endian tensor bytes, back to back.
 * Conveyor writes and reads float32 ("F32") tensors only.
 */
export interface NamedTensor {
  readonly name: string;
  /** Row-major shape. */
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface SafetensorsContents {
  /** In file order (ascending data offset). */
  readonly tensors: ReadonlyMap<string, NamedTensor>;
  readonly metadata: Readonly<Record<string, string>>;
  /** The raw data section, for digests. */
  readonly dataBytes: Uint8Array;
}

const METADATA_KEY = '__metadata__';
const BYTES_PER_F32 = 4;
/** The reference implementation refuses larger headers too; it bounds what a corrupt length can make us allocate. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, size) => product * size, 1);
}

/** Byte order of this machine; safetensors is little-endian, so a big-endian host swaps every float. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Copies float32 bytes between host order and little-endian; byte copies keep every bit, NaN payloads included. */
function copyFloatBytes(target: Uint8Array, source: Uint8Array): void {
  target.set(source);
  if (HOST_IS_LITTLE_ENDIAN) return;
  for (let i = 0; i < target.length; i += BYTES_PER_F32) target.subarray(i, i + BYTES_PER_F32).reverse();
}

function floatBytes(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The data section: every tensor's float32 values, little-endian, back to back in the given order. */
export function tensorBytes(tensors: readonly NamedTensor[]): Uint8Array {
  const bytes = new Uint8Array(tensors.reduce((total, { data }) => total + data.byteLength, 0));
  let position = 0;
  for (const { data } of tensors) {
    copyFloatBytes(bytes.subarray(position, position + data.byteLength), floatBytes(data));
    position += data.byteLength;
  }
  return bytes;
}

/**
 * Serialises tensors in the given order; the header is space-padded to a multiple of 8 so the data is aligned.
 * `data` may be passed when the caller already built it with tensorBytes (e.g. to put its digest in the metadata).
 */
export function encodeSafetensors(
  tensors: readonly NamedTensor[],
  metadata: Readonly<Record<string, string>> = {},
  data: Uint8Array = tensorBytes(tensors),
): Uint8Array {
  // No prototype: a tensor named "__proto__" must become a key, not replace the object's prototype.
  const header: Record<string, unknown> = Object.create(null);
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  let offset = 0;
  for (const { name, shape, data: values } of tensors) {
    if (name === METADATA_KEY || Object.hasOwn(header, name)) throw new Error(`tensor name ${name} is reserved or repeated`);
    if (elementCount(shape) !== values.length) throw new Error(`tensor ${name}: shape [${shape}] does not hold ${values.length} values`);
    header[name] = { dtype: 'F32', shape: [...shape], data_offsets: [offset, offset + values.length * BYTES_PER_F32] };
    offset += values.length * BYTES_PER_F32;
  }
  if (offset !== data.length) throw new Error(`data section has ${data.length} bytes, the tensors need ${offset}`);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + headerLength + data.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(headerLength), true);
  bytes.set(json, 8);
  bytes.fill(0x20, 8 + json.length, 8 + headerLength);
  bytes.set(data, 8 + headerLength);
  return bytes;
}

interface HeaderEntry {
  readonly name: string;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

/**
 * Parses and checks a whole file before returning anything: header length, JSON, every entry's dtype,
 * shape and offsets, and that the entries tile the data section exactly (no gap, no overlap, no truncation).
 * Every failure is a UsageError naming `file` and, where there is one, the tensor.
 */
export function decodeSafetensors(bytes: Uint8Array, file: string): SafetensorsContents {
  const fail = failure(file);
  const { headerLength, header } = readHeader(bytes, bytes.length, file);
  const dataLength = bytes.length - 8 - headerLength;
  const metadata = parseMetadata(header[METADATA_KEY], fail);
  const entries = Object.entries(header)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, value]) => parseEntry(name, value, fail))
    .sort((x, y) => x.begin - y.begin || x.end - y.end);
  let expectedBegin = 0;
  for (const entry of entries) {
    if (entry.begin !== expectedBegin) {
      fail(`tensor ${entry.name} starts at byte ${entry.begin} of the data, expected ${expectedBegin} (gap or overlap)`);
    }
    if (entry.end > dataLength) fail(`tensor ${entry.name} ends at byte ${entry.end} but the data section has only ${dataLength} (truncated?)`);
    expectedBegin = entry.end;
  }
  if (expectedBegin !== dataLength) fail(`the data section has ${dataLength} bytes but the tensors cover ${expectedBegin}`);
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, NamedTensor>();
  for (const { name, shape, begin, end } of entries) {
    const data = new Float32Array((end - begin) / BYTES_PER_F32);
    copyFloatBytes(floatBytes(data), bytes.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, { name, shape, data });
  }
  return { tensors, metadata, dataBytes: bytes.subarray(dataStart) };
}

/** How many bytes from the start of a file hold its header: the 8-byte length, then the JSON. */
export function headerBytes(start: Uint8Array, file: string): number {
  if (start.length < 8) failure(file)(`it has ${start.length} bytes, fewer than the 8-byte header length (truncated?)`);
  // A corrupt length reads no more than the largest header allowed; readHeader then says what is wrong.
  const declared = new DataView(start.buffer, start.byteOffset, 8).getBigUint64(0, true);
  return 8 + Number(declared > BigInt(MAX_HEADER_BYTES) ? BigInt(MAX_HEADER_BYTES) : declared);
}

/** The __metadata__ strings from the first headerBytes() bytes of a file of `fileLength` bytes. */
export function decodeSafetensorsMetadata(start: Uint8Array, fileLength: number, file: string): Record<string, string> {
  return parseMetadata(readHeader(start, fileLength, file).header[METADATA_KEY], failure(file));
}

const failure = (file: string) => (problem: string): never => {
  throw new UsageError(`${file} is not a valid safetensors checkpoint: ${problem}`);
};

/** The header length and JSON object, from bytes that begin a file of `fileLength` bytes and hold its whole header. */
function readHeader(bytes: Uint8Array, fileLength: number, file: string): { headerLength: number; header: Record<string, unknown> } {
  const fail = failure(file);
  if (bytes.length < 8) fail(`it has ${bytes.length} bytes, fewer than the 8-byte header length (truncated?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(Math.min(MAX_HEADER_BYTES, fileLength - 8)) || declared > BigInt(bytes.length - 8)) {
    fail(`the header claims ${declared} bytes but the file has ${fileLength - 8} after the length field (truncated?)`);
  }
  const headerLength = Number(declared);
  let header: unknown;
  try {
    header = JSON.parse(decodeUtf8(bytes.subarray(8, 8 + headerLength), `${file} header`));
  } catch (error) {
    fail(error instanceof UsageError ? 'its header is not UTF-8' : 'its header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('its header is not a JSON object');
  return { headerLength, header: header as Record<string, unknown> };
}

function parseMetadata(value: unknown, fail: (problem: string) => never): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${METADATA_KEY} is not an object`);
  for (const [key, item] of Object.entries(value as object)) {
    if (typeof item !== 'string') fail(`${METADATA_KEY}.${key} is not a string`);
  }
  return value as Record<string, string>;
}

function parseEntry(name: string, value: unknown, fail: (problem: string) => never): HeaderEntry {
  const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
  if (typeof entry !== 'object' || entry === null) fail(`tensor ${name} has no {dtype, shape, data_offsets} entry`);
  const { dtype, shape, data_offsets: offsets } = entry!;
  if (dtype !== 'F32') fail(`tensor ${name} has dtype ${JSON.stringify(dtype)}; Conveyor reads F32 only`);
  const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount)) fail(`tensor ${name} has shape ${JSON.stringify(shape)}, expected a list of sizes`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0]! > offsets[1]!) {
    fail(`tensor ${name} has data_offsets ${JSON.stringify(offsets)}, expected [begin, end] with begin <= end`);
  }
  const [begin, end] = offsets as [number, number];
  const expectedBytes = elementCount(shape as number[]) * BYTES_PER_F32;
  if (end - begin !== expectedBytes) fail(`tensor ${name} has shape [${shape}] (${expectedBytes} bytes) but data_offsets span ${end - begin} bytes`);
  return { name, shape: shape as number[], begin, end };
}
