/** A launched rank other than 0: it serves the driver in global rank 0's process until the job ends. */
import { RunFailedError } from '../../errors.js';
import { Rank } from '../rank.js';
import type { Mesh } from './rendezvous.js';
import { TcpTransport } from './tcp-transport.js';

/** Resolves when the driver stops the job; rejects, saying where this rank stood, when the job failed or the driver vanished. */
export async function serveRank(mesh: Mesh): Promise<void> {
  const transport = new TcpTransport(mesh);
  const rank = new Rank(transport, mesh.rank);
  const end = await transport.ended;
  const where = rank.where();
  rank.close();
  if (end.lost !== undefined) throw new RunFailedError(`${end.lost}; rank ${mesh.rank} was at ${where}`);
  // the failed rank says what it saw; the others only that they stopped (rank 0 names the failure)
  if (end.failedRank === mesh.rank) throw new RunFailedError(rank.failure ?? `failed at ${where} (rank 0 says why)`);
  if (end.failedRank !== undefined) throw new RunFailedError(`stopped because rank ${end.failedRank} failed; rank ${mesh.rank} was at ${where}`);
}
