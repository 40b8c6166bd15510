/**
 * Binary frames: what travels on a TCP connection between ranks (and to the rendezvous store). A fixed
 * 40-byte little-endian header, then `byteLength` raw bytes:
 *
 *   offset  size  field
 *   0       4     magic 'CVY1'
 *   4       1     type: 1 handshake (JSON), 2 control (JSON), 3 attachment (a typed array of the next control
 *                 message), 4 tensor (an activation, gradient, tied or reduced gradient between ranks)
 *   5       1     dtype: 0 bytes, 1 float32, 2 int32
 *   6       1     ndim: 0 .. 4 (dimensions past ndim are 0)
 *   7       1     payload of a tensor: 1 activation, 2 gradient, 3 tied-gradient, 4 reduce (0 otherwise)
 *   8       4     stage (int32)
 *   12      4     micro-batch (int32; a reduce's ring step)
 *   16      16    shape: 4 × uint32
 *   32      4     byteLength (uint32) = product(shape) × element size for typed payloads
 *   36      4     reserved, 0
 *
 * Tensors never go through JSON: the payload is the array's own bytes. The reader checks every header before
 * it allocates anything and allocates exactly one buffer per frame, so a malformed or oversized frame costs
 * nothing and ends in a FrameError, the reader's only kind of error.
 */
import type { Payload } from './mailbox.js';

export const headerBytes = 40;
const magic = 0x31595643; // 'CVY1' read little-endian

export const frameTypes = { handshake: 1, control: 2, attachment: 3, tensor: 4 } as const;
export type FrameType = keyof typeof frameTypes;
const typeNames = new Map<number, FrameType>(Object.entries(frameTypes).map(([name, code]) => [code, name as FrameType]));

export const dtypes = { bytes: 0, float32: 1, int32: 2 } as const;
export type Dtype = keyof typeof dtypes;
const dtypeNames = new Map<number, Dtype>(Object.entries(dtypes).map(([name, code]) => [code, name as Dtype]));

const payloadCodes: Record<Payload, number> = { activation: 1, gradient: 2, 'tied-gradient': 3, reduce: 4 };
const payloadNames = new Map<number, Payload>(Object.entries(payloadCodes).map(([name, code]) => [code, name as Payload]));

export interface FrameHeader {
  readonly type: FrameType;
  readonly dtype: Dtype;
  /** Up to 4 dimensions; [] for JSON. */
  readonly shape: readonly number[];
  readonly payload?: Payload;
  readonly stage: number;
  readonly microbatch: number;
  readonly byteLength: number;
}

export interface Frame {
  readonly header: FrameHeader;
  /** The payload's bytes, in a buffer of their own (aligned, so a typed array can view it). */
  readonly body: Uint8Array;
}

/** A frame that breaks the format or the receiver's limits: the connection that sent it is dropped. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

export function encodeHeader(header: FrameHeader): Uint8Array {
  const bytes = new Uint8Array(headerBytes);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, magic, true);
  view.setUint8(4, frameTypes[header.type]);
  view.setUint8(5, dtypes[header.dtype]);
  view.setUint8(6, header.shape.length);
  view.setUint8(7, header.payload === undefined ? 0 : payloadCodes[header.payload]);
  view.setInt32(8, header.stage, true);
  view.setInt32(12, header.microbatch, true);
  header.shape.forEach((size, axis) => view.setUint32(16 + 4 * axis, size, true));
  view.setUint32(32, header.byteLength, true);
  return bytes;
}

/** The header of a typed array: shape defaults to one dimension. */
export function tensorHeader(
  type: 'attachment' | 'tensor',
  data: Float32Array | Int32Array,
  fields: { readonly payload?: Payload; readonly stage?: number; readonly microbatch?: number; readonly shape?: readonly number[] } = {},
): FrameHeader {
  return {
    type,
    dtype: data instanceof Float32Array ? 'float32' : 'int32',
    shape: fields.shape ?? [data.length],
    ...(fields.payload === undefined ? {} : { payload: fields.payload }),
    stage: fields.stage ?? -1,
    microbatch: fields.microbatch ?? -1,
    byteLength: data.byteLength,
  };
}

/** The largest payload a receiver accepts per frame type (0: that type is refused outright). */
export type FrameLimits = Readonly<Record<FrameType, number>>;

function decodeHeader(bytes: Uint8Array, limits: FrameLimits): FrameHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
  if (view.getUint32(0, true) !== magic) throw new FrameError('not a Conveyor frame (bad magic)');
  const type = typeNames.get(view.getUint8(4));
  if (type === undefined) throw new FrameError(`unknown frame type ${view.getUint8(4)}`);
  const dtype = dtypeNames.get(view.getUint8(5));
  if (dtype === undefined) throw new FrameError(`unknown dtype ${view.getUint8(5)}`);
  const ndim = view.getUint8(6);
  if (ndim > 4) throw new FrameError(`a frame has at most 4 dimensions, got ${ndim}`);
  const shape: number[] = [];
  for (let axis = 0; axis < 4; axis++) {
    const size = view.getUint32(16 + 4 * axis, true);
    if (axis < ndim) shape.push(size);
    else if (size !== 0) throw new FrameError(`dimension ${axis} is ${size} past ndim ${ndim}`);
  }
  if (view.getUint32(36, true) !== 0) throw new FrameError('reserved header bytes are not 0');
  const byteLength = view.getUint32(32, true);
  const payloadCode = view.getUint8(7);
  const payload = payloadNames.get(payloadCode);
  const typed = type === 'attachment' || type === 'tensor';
  if (typed) {
    if (dtype === 'bytes' || ndim === 0) throw new FrameError(`a ${type} frame carries a typed array, got dtype ${dtype} with ${ndim} dimensions`);
    const elements = shape.reduce((product, size) => product * size, 1);
    if (elements * 4 !== byteLength) throw new FrameError(`a ${type} of shape [${shape.join(', ')}] has ${elements * 4} bytes, not ${byteLength}`);
  } else if (dtype !== 'bytes' || ndim !== 0) {
    throw new FrameError(`a ${type} frame carries JSON bytes, got dtype ${dtype} with ${ndim} dimensions`);
  }
  if (type === 'tensor' ? payload === undefined : payloadCode !== 0) throw new FrameError(`payload code ${payloadCode} does not fit a ${type} frame`);
  if (byteLength > limits[type]) {
    throw new FrameError(limits[type] === 0 ? `a ${type} frame is not expected here` : `a ${type} frame of ${byteLength} bytes is over the ${limits[type]} this link allows`);
  }
  return { type, dtype, shape, ...(payload === undefined ? {} : { payload }), stage: view.getInt32(8, true), microbatch: view.getInt32(12, true), byteLength };
}

/**
 * Reads frames out of a byte stream that arrives in arbitrary pieces. Each frame's payload is copied once,
 * from the pieces into a buffer of its own allocated when its header has been checked.
 */
export class FrameReader {
  private readonly header = new Uint8Array(headerBytes);
  private headerFilled = 0;
  private current: FrameHeader | undefined;
  private body: Uint8Array = new Uint8Array(0);
  private bodyFilled = 0;
  private broken: FrameError | undefined;

  constructor(public limits: FrameLimits) {}

  /** Every frame `chunk` completes, in order; throws FrameError on the first bad header (and on every call after it). */
  push(chunk: Uint8Array): Frame[] {
    if (this.broken) throw this.broken;
    const frames: Frame[] = [];
    let offset = 0;
    try {
      while (offset < chunk.length) {
        if (this.current === undefined) {
          const take = Math.min(headerBytes - this.headerFilled, chunk.length - offset);
          this.header.set(chunk.subarray(offset, offset + take), this.headerFilled);
          this.headerFilled += take;
          offset += take;
          if (this.headerFilled < headerBytes) break;
          this.current = decodeHeader(this.header, this.limits);
          this.body = new Uint8Array(this.current.byteLength);
          this.bodyFilled = 0;
        }
        const take = Math.min(this.body.length - this.bodyFilled, chunk.length - offset);
        this.body.set(chunk.subarray(offset, offset + take), this.bodyFilled);
        this.bodyFilled += take;
        offset += take;
        if (this.bodyFilled < this.body.length) break;
        frames.push({ header: this.current, body: this.body });
        this.current = undefined;
        this.headerFilled = 0;
      }
    } catch (error) {
      this.broken = error instanceof FrameError ? error : new FrameError(String(error));
      throw this.broken;
    }
    return frames;
  }
}

/** The typed array a tensor or attachment frame carries (a view of its own buffer, no copy). */
export function frameArray(frame: Frame): Float32Array | Int32Array {
  const { body, header } = frame;
  return header.dtype === 'float32' ? new Float32Array(body.buffer, body.byteOffset, body.byteLength / 4) : new Int32Array(body.buffer, body.byteOffset, body.byteLength / 4);
}
