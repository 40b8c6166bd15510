/**
 * Mutual HMAC challenge–response on every connection (to the store and between ranks). The side that
 * accepted the connection sends a fresh nonce; the side that connected answers with its own nonce and
 * HMAC-SHA256(token, "connector" | job | its nonce | the acceptor's nonce | its rank); the acceptor checks it
 * and proves itself the same way. The token never crosses the wire, and a replayed proof fails against a new
 * nonce. Without a token the key is empty: the exchange then only checks that both ends speak this protocol
 * for this job, and the job listens on loopback alone.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface JobIdentity {
  /** CONVEYOR_JOB_TOKEN, shared by every rank; empty without one. */
  readonly token: string;
  /** What names the job for everyone in it (master address and port, world size, launcher's run id). */
  readonly job: string;
}

export function nonce(): string {
  return randomBytes(32).toString('hex');
}

export function proof(identity: JobIdentity, role: 'connector' | 'acceptor', ownNonce: string, otherNonce: string, rank: number): string {
  return createHmac('sha256', identity.token).update([role, identity.job, ownNonce, otherNonce, String(rank)].join('\n')).digest('hex');
}

export function proofMatches(expected: string, received: unknown): boolean {
  if (typeof received !== 'string' || received.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected), Buffer.from(received));
}
