/**
 * One TCP connection to a peer, speaking frames (frames.ts): it checks every frame against the link's limits,
 * gathers a control message's attachments, and hands on tensors as they complete. A peer that breaks the
 * format, or sends more than this link allows, is dropped with a message that names it; nothing it sends can
 * crash the rank or grow memory past one frame's limit.
 */
import type { Socket } from 'node:net';
import { encodeHeader, frameArray, FrameError, FrameReader, tensorHeader, type Frame, type FrameHeader, type FrameLimits } from '../frames.js';
import { decodeJson, encodeMessage, WireError } from '../wire.js';

/** Before a link knows the job's sizes: small JSON only. */
export const handshakeLimits: FrameLimits = { handshake: 4096, control: 1 << 16, attachment: 0, tensor: 0 };

export interface ConnectionEvents {
  handshake?(value: unknown): void;
  /** A control message: its JSON and the attachments sent just before it. */
  control?(json: Uint8Array, attachments: readonly (Float32Array | Int32Array)[]): void;
  tensor?(frame: Frame): void;
  /** The link is gone: closed by the peer, reset, or dropped by us (reason says which). */
  closed?(reason: string): void;
}

const encoder = new TextEncoder();
/** Frames held before their listener comes: the few a peer sends right after its handshake. */
const heldFrames = 64;
/**
 * Bytes a sender lets wait for the kernel before it waits itself. A peer busy computing reads nothing, and
 * its socket buffers hold less than one activation; blocking the sender then would stall the pipeline for a
 * whole compute, so it goes on with its next action and the queue drains when its event loop turns. What a
 * step sends is bounded by its schedule, this bounds it again.
 */
const queuedBytes = 64 << 20;

export class Connection {
  private readonly reader: FrameReader;
  private attachments: (Float32Array | Int32Array)[] = [];
  private events: ConnectionEvents = {};
  /** Frames that came before anyone listened for their kind (the peer may speak right after the handshake). */
  private held: { readonly frame: Frame; readonly attachments?: readonly (Float32Array | Int32Array)[] }[] = [];
  private ended = false;
  /** At most this many attachments may wait for their control message. */
  maxAttachments = 0;

  constructor(
    readonly socket: Socket,
    /** Who is at the other end, for messages: "rank 2 (127.0.0.1:40112)". */
    public peer: string,
    limits: FrameLimits = handshakeLimits,
  ) {
    this.reader = new FrameReader(limits);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.end(`${error.message}`));
    socket.on('close', () => this.end('closed'));
  }

  get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  set limits(limits: FrameLimits) {
    this.reader.limits = limits;
  }

  /** Replaces the listeners; frames held for want of one are handed over now, in order. */
  listen(events: ConnectionEvents): void {
    this.events = events;
    for (const { frame, attachments } of this.held.splice(0)) {
      if (this.ended) return;
      this.dispatchChecked(frame, attachments);
    }
  }

  private receive(chunk: Buffer): void {
    if (this.ended) return;
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (error) {
      this.drop(`${this.peer} sent a malformed frame: ${(error as FrameError).message}`);
      return;
    }
    for (const frame of frames) {
      if (this.ended) return;
      this.dispatchChecked(frame);
    }
  }

  private dispatchChecked(frame: Frame, attachments?: readonly (Float32Array | Int32Array)[]): void {
    try {
      this.dispatch(frame, attachments);
    } catch (error) {
      if (!(error instanceof WireError || error instanceof FrameError)) throw error;
      this.drop(`${this.peer} sent a bad ${frame.header.type} message: ${error.message}`);
    }
  }

  /** Keeps a frame nobody listens for yet; a peer that sends many such is dropped. */
  private hold(frame: Frame, attachments?: readonly (Float32Array | Int32Array)[]): void {
    if (this.held.length >= heldFrames) throw new FrameError(`more than ${heldFrames} frames before anyone reads them`);
    this.held.push({ frame, ...(attachments === undefined ? {} : { attachments }) });
  }

  /** `attachments`: those gathered for a control frame that was held. */
  private dispatch(frame: Frame, heldAttachments?: readonly (Float32Array | Int32Array)[]): void {
    switch (frame.header.type) {
      case 'handshake':
        if (!this.events.handshake) throw new FrameError('a handshake frame is not expected now');
        this.events.handshake(decodeJson(frame.body, []));
        return;
      case 'attachment':
        if (this.attachments.length >= this.maxAttachments) throw new FrameError(`more than ${this.maxAttachments} attachments before a control message`);
        this.attachments.push(frameArray(frame));
        return;
      case 'control': {
        const attachments = heldAttachments ?? this.attachments;
        if (heldAttachments === undefined) this.attachments = [];
        if (!this.events.control) return this.hold(frame, attachments);
        this.events.control(frame.body, attachments);
        return;
      }
      case 'tensor':
        if (!this.events.tensor) return this.hold(frame);
        this.events.tensor(frame);
    }
  }

  /** Writes one frame: header and payload in one system call where the socket can; false when the socket is full. */
  private write(header: FrameHeader, body?: ArrayBufferView): boolean {
    if (this.ended) return true;
    this.socket.cork();
    let room = this.socket.write(encodeHeader(header));
    if (body !== undefined && body.byteLength > 0) room = this.socket.write(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    this.socket.uncork();
    return room;
  }

  sendHandshake(value: object): void {
    const json = encoder.encode(JSON.stringify(value));
    this.write({ type: 'handshake', dtype: 'bytes', shape: [], stage: -1, microbatch: -1, byteLength: json.byteLength }, json);
  }

  /** A control message; its typed arrays go first, each as an attachment frame of its own bytes. */
  sendMessage(message: object): boolean {
    const { json, attachments } = encodeMessage(message);
    for (const data of attachments) this.write(tensorHeader('attachment', data), data);
    return this.write({ type: 'control', dtype: 'bytes', shape: [], stage: -1, microbatch: -1, byteLength: json.byteLength }, json);
  }

  /**
   * A tensor between ranks, straight from its own bytes (no copy in user space: what the kernel does not take
   * at once waits, referenced, until it does). False once more than `queuedBytes` wait: back-pressure.
   */
  sendTensor(header: FrameHeader, data: Float32Array): boolean {
    this.write(header, data);
    return this.socket.writableLength <= queuedBytes;
  }

  /** Resolves once what waits to be written is back under `queuedBytes` (or the link is gone). */
  drained(): Promise<void> {
    if (this.ended || this.socket.writableLength <= queuedBytes) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Drops the link: the peer broke the protocol. */
  drop(reason: string): void {
    this.end(reason);
  }

  /** Closes the link once what was written has gone out. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.socket.end();
    this.socket.destroySoon();
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.socket.destroy();
    this.events.closed?.(reason);
  }
}
