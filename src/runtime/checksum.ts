import type { NamedTensor } from './protocol.js';

/**
 * SHA-256 (hex) of every parameter's float32 bytes in model order: equal checksums mean bitwise equal models.
 * Web Crypto, so it runs in a browser as on Node; the bytes are gathered into one (unshared) buffer first.
 */
export async function parameterChecksum(tensors: readonly NamedTensor[]): Promise<string> {
  const bytes = new Uint8Array(tensors.reduce((total, { data }) => total + data.byteLength, 0));
  let offset = 0;
  for (const { data } of tensors) {
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    offset += data.byteLength;
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
