/**
 * A proven connection to another rank, shared by the rank loop's transport (tensors) and, on rank 0, the
 * driver (control messages). Frames that arrive before their reader has registered are held, in order, and
 * handed over on registration; a peer that sends more than a step's worth before anyone reads is dropped.
 */
import type { Frame } from '../frames.js';
import type { Connection } from './connection.js';

export interface LinkHandlers {
  tensor?(frame: Frame): void;
  control?(json: Uint8Array, attachments: readonly (Float32Array | Int32Array)[]): void;
  closed?(reason: string): void;
}

/** Frames a link holds for a reader that has not registered yet. */
const heldFrames = 4096;

type Held = { readonly tensor: Frame } | { readonly json: Uint8Array; readonly attachments: readonly (Float32Array | Int32Array)[] };

export class PeerLink {
  private readonly handlers: LinkHandlers[] = [];
  private readonly held: Held[] = [];
  private closedBecause: string | undefined;

  constructor(readonly connection: Connection) {
    connection.listen({
      tensor: (frame) => this.deliver({ tensor: frame }),
      control: (json, attachments) => this.deliver({ json, attachments }),
      closed: (reason) => {
        this.closedBecause = reason;
        for (const handlers of this.handlers) handlers.closed?.(reason);
      },
    });
  }

  get peer(): string {
    return this.connection.peer;
  }

  private deliver(message: Held): void {
    const reader = this.handlers.find((handlers) => ('tensor' in message ? handlers.tensor : handlers.control));
    if (reader !== undefined) {
      if ('tensor' in message) reader.tensor!(message.tensor);
      else reader.control!(message.json, message.attachments);
    } else if (this.held.length < heldFrames) this.held.push(message);
    else this.connection.drop(`${this.peer} sent more than ${heldFrames} frames nobody reads`);
  }

  on(handlers: LinkHandlers): void {
    this.handlers.push(handlers);
    const held = this.held.splice(0);
    for (const message of held) this.deliver(message);
    if (this.closedBecause !== undefined) handlers.closed?.(this.closedBecause);
  }
}
