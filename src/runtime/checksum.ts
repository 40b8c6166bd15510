import { createHash } from 'node:crypto';
import type { NamedTensor } from './protocol.js';

/** SHA-256 (hex) of every parameter's float32 bytes in model order: equal checksums mean bitwise equal models. */
export function parameterChecksum(tensors: readonly NamedTensor[]): string {
  const hash = createHash('sha256');
  for (const { data } of tensors) hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return hash.digest('hex');
}
