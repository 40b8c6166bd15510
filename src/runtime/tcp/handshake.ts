/**
 * The first frames on every connection: each side proves it holds the job token (auth.ts) and says which
 * rank it is. A side that fails to prove it within the time allowed is refused; the connection is closed
 * and nothing it sent reaches the job.
 */
import { nonce, proof, proofMatches, type JobIdentity } from './auth.js';
import type { Connection } from './connection.js';

const protocol = 'conveyor/1';
/** A peer that has not proved itself by then is refused (a port scanner, a stuck client). */
export const handshakeSeconds = 10;

export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
}

function next(connection: Connection, what: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      connection.drop(`no ${what} within ${handshakeSeconds} s`);
    }, handshakeSeconds * 1000);
    connection.listen({
      handshake: (value) => {
        clearTimeout(timer);
        if (value === null || typeof value !== 'object' || (value as Record<string, unknown>).protocol !== protocol) {
          connection.drop(`its ${what} is not ${protocol}`);
          reject(new HandshakeError(`${connection.remote} does not speak ${protocol}`));
          return;
        }
        resolve(value as Record<string, unknown>);
      },
      closed: (reason) => {
        clearTimeout(timer);
        reject(new HandshakeError(`${connection.remote} ${reason} during the handshake`));
      },
    });
  });
}

/**
 * The accepting side: challenges the peer, checks its proof and its rank (`admit` returns why a rank may not
 * connect here, or undefined), then proves itself. Resolves with the peer's rank.
 */
export async function acceptPeer(connection: Connection, identity: JobIdentity, ownRank: number, admit: (rank: number) => string | undefined): Promise<number> {
  const challenge = nonce();
  connection.sendHandshake({ protocol, nonce: challenge });
  const answer = await next(connection, 'answer to the challenge');
  const rank = answer.rank;
  if (typeof rank !== 'number' || !Number.isInteger(rank) || typeof answer.nonce !== 'string' || answer.nonce.length !== 64) {
    connection.drop('malformed handshake');
    throw new HandshakeError(`${connection.remote} sent a malformed handshake`);
  }
  if (!proofMatches(proof(identity, 'connector', answer.nonce, challenge, rank), answer.proof)) {
    connection.drop('it did not prove the job token');
    throw new HandshakeError(`refused a connection from ${connection.remote}: it did not prove the job token`);
  }
  const refusal = admit(rank);
  if (refusal !== undefined) {
    connection.drop(refusal);
    throw new HandshakeError(`refused a connection from ${connection.remote} (rank ${rank}): ${refusal}`);
  }
  connection.sendHandshake({ protocol, rank: ownRank, proof: proof(identity, 'acceptor', challenge, answer.nonce, ownRank) });
  return rank;
}

/** The connecting side: answers the challenge and checks that the acceptor is `expectedRank` of the same job. */
export async function connectPeer(connection: Connection, identity: JobIdentity, ownRank: number, expectedRank: number): Promise<void> {
  const challenge = await next(connection, 'challenge');
  if (typeof challenge.nonce !== 'string' || challenge.nonce.length !== 64) {
    connection.drop('malformed challenge');
    throw new HandshakeError(`${connection.peer} sent a malformed challenge`);
  }
  const own = nonce();
  connection.sendHandshake({ protocol, rank: ownRank, nonce: own, proof: proof(identity, 'connector', own, challenge.nonce, ownRank) });
  const answer = await next(connection, 'proof');
  if (answer.rank !== expectedRank || !proofMatches(proof(identity, 'acceptor', challenge.nonce, own, expectedRank), answer.proof)) {
    connection.drop('it did not prove the job token');
    throw new HandshakeError(`${connection.peer} at ${connection.remote} did not prove the job token (or is not rank ${expectedRank} of this job)`);
  }
}
