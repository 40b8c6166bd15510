/** Ports between every pair of ranks, for transports whose ranks share a machine (worker threads, Web Workers). */

/**
 * `[rank][peer]` the rank's end of the channel to that peer (undefined at its own index): neighbouring stages
 * talk, and so do the first and last stage for the tied embedding, so every pair gets one.
 */
export function portMesh<Port>(size: number, channel: () => { readonly port1: Port; readonly port2: Port }): (Port | undefined)[][] {
  const peers: (Port | undefined)[][] = Array.from({ length: size }, () => new Array<Port | undefined>(size).fill(undefined));
  for (let a = 0; a < size; a++) {
    for (let b = a + 1; b < size; b++) {
      const { port1, port2 } = channel();
      peers[a]![b] = port1;
      peers[b]![a] = port2;
    }
  }
  return peers;
}
