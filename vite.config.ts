/**
 * The web lab's build: `src/web` (the page) to static files in `dist/web`. Preact's JSX without a plugin;
 * the dev server sends the cross-origin isolation headers the training tab's SharedArrayBuffer needs.
 */
import { defineConfig } from 'vite';
import { isolationHeaders } from './src/web/isolation-headers.js';

export default defineConfig({
  root: 'src/web',
  // Relative asset paths, so the built page works from any folder of any static host.
  base: './',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: '../../dist/web', emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
  worker: { format: 'es' },
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
});
