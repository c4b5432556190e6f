/**
 * The browser demo: `npm run demo` serves it, `npm run build:demo` writes web-demo/dist, a
 * static folder any static server can host. Everything it loads is in that folder: the
 * model (models/ is the public dir) and onnxruntime-web's .wasm (emitted as an asset).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  // A static site: unknown paths are 404s, not index.html (a missing model must look missing).
  appType: 'mpa',
  publicDir: fileURLToPath(new URL('../models', import.meta.url)),
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 4173 },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
});
