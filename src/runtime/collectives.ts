/**
 * The data-parallel reduction of one stage's gradients: a ring all-reduce (reduce-scatter, then all-gather)
 * over the D replicas that own the stage, as NCCL's ring does (Patarasuk & Yuan 2009). The flat gradient is cut
 * into D chunks; in 2(D-1) steps each replica passes one chunk to the next, so each sends 2(D-1)/D of the
 * gradient whatever D is. Chunk c is summed in the fixed order g_c, g_c+1, …, g_c-1 (replica indices mod D),
 * so every run, and every replica, gets the same bits; with two replicas every chunk is exactly g_0 + g_1.
 */

/** What the ring needs from the rank: send a chunk to the next replica, and await one from the previous. */
export interface RingLinks {
  send(step: number, chunk: Float32Array): void | Promise<void>;
  receive(step: number, length: number): Promise<Float32Array>;
}

/** [D + 1] chunk boundaries of a flat array of `length` values: chunk c is [bounds[c], bounds[c+1]). */
export function chunkBounds(length: number, replicas: number): number[] {
  return Array.from({ length: replicas + 1 }, (_, c) => Math.floor((c * length) / replicas));
}

/** The chunk replica `replica` receives at ring step `step` (0 .. 2(D-1)-1): reduce-scatter first, then all-gather. */
export function receivedChunk(replica: number, replicas: number, step: number): number {
  const mod = (value: number) => ((value % replicas) + replicas) % replicas;
  return step < replicas - 1 ? mod(replica - step - 1) : mod(replica - (step - (replicas - 1)));
}

/** Sums `data` ([N] float32) across the replicas in place; every replica ends with the same bits. */
export async function ringAllReduce(data: Float32Array, replica: number, replicas: number, links: RingLinks): Promise<void> {
  if (replicas === 1) return;
  const bounds = chunkBounds(data.length, replicas);
  const chunk = (c: number) => data.subarray(bounds[c]!, bounds[c + 1]!);
  const steps = 2 * (replicas - 1);
  for (let step = 0; step < steps; step++) {
    // what this replica sends now is what it received (and completed) at the step before
    const sent = step === 0 ? replica : receivedChunk(replica, replicas, step - 1);
    await links.send(step, chunk(sent).slice());
    const into = receivedChunk(replica, replicas, step);
    const incoming = await links.receive(step, bounds[into + 1]! - bounds[into]!);
    const target = chunk(into);
    if (step < replicas - 1) for (let i = 0; i < target.length; i++) target[i]! += incoming[i]!;
    else target.set(incoming);
  }
}
