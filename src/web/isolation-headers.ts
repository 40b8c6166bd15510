/**
 * The headers that make a page cross-origin isolated, which browsers require before they hand it
 * SharedArrayBuffer: the lab server, Vite's dev server and any static host must send both with every file.
 */
export const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
} as const;
