/**
 * The seam between the rank loop and whatever carries its messages. A rank talks to its peers (other ranks)
 * and to the driver (the side that hands out batches and gathers results) only through a Transport; the
 * driver talks to the ranks only through RankLinks. Implementations: worker threads (threads/), TCP between
 * processes on one or many hosts (tcp/), Web Workers in a browser. Contract in docs/runtime.md.
 */
import type { DriverMessage, LinkLimits, PeerMessage, RankReply } from './protocol.js';

/** What a rank's transport reports; each callback runs on the rank's own event loop. */
export interface TransportEvents {
  /** A peer's tensor, in the order that peer sent it; the rank owns `message.data` from now on. */
  message(peer: number, message: PeerMessage): void;
  /** A command from the driver, in the order the driver sent them. */
  control(message: DriverMessage): void;
  /** A peer (or, with peer undefined, the driver) is gone or was dropped: the rank cannot go on. */
  lost(peer: number | undefined, reason: string): void;
}

export interface Transport {
  /** 'threads', 'tcp', 'web-workers': what `--json` reports. */
  readonly kind: string;
  /** Called once, before any message is delivered. */
  listen(events: TransportEvents): void;
  /**
   * Hands a tensor to `peer`; never waits for the peer to ask for it. The transport may take ownership of
   * `message.data` (a worker transfer), so the sender must not touch it again. A returned promise means
   * the link is full (back-pressure): the rank awaits it before its next send.
   */
  send(peer: number, message: PeerMessage): void | Promise<void>;
  /** A reply or progress report to the driver. */
  reply(message: RankReply): void;
  /**
   * Optional: stays awake taking messages that have already arrived, delivering them through `message`,
   * until `ready()` is true or `milliseconds` have passed. A transport that cannot poll leaves it out and
   * the rank simply sleeps until the message arrives.
   */
  poll?(ready: () => boolean, milliseconds: number): void | Promise<void>;
  /** Optional: the sizes this job's messages can have, known once the rank is built; a transport that reads frames refuses larger ones. */
  expect?(limits: LinkLimits): void;
  /** Drops the link to a peer that misbehaved (a message this rank never expects, or of the wrong shape). */
  drop(peer: number, reason: string): void;
  /** Ends this rank at once, as a crash would: fault injection's `mode:exit`. */
  exit(code: number): void;
  /** Closes every link; the rank's work is over. */
  close(): void;
}

/** What the driver's links to the ranks report. */
export interface RankLinkEvents {
  reply(rank: number, message: RankReply): void;
  /** A rank died, closed its link or was dropped. */
  lost(rank: number, reason: string): void;
}

/** The driver's side: one link to every rank of the job, whatever carries it. */
export interface RankLinks {
  /** 'threads' or 'tcp'. */
  readonly kind: string;
  readonly size: number;
  /** The host each rank runs on, by global rank. */
  readonly hosts: readonly string[];
  /** Called once, before any message is delivered. */
  listen(events: RankLinkEvents): void;
  send(rank: number, message: DriverMessage): void;
  /** Optional: as Transport.expect, for what the ranks send the driver. */
  expect?(limits: LinkLimits): void;
  /** Stops every rank (a 'stop' message, then whatever ends them for good); `failedRank` when the job failed there. Safe to call more than once. */
  close(failedRank?: number): Promise<void>;
}
