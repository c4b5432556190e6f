/**
 * The pages as the browser tests and `npm run bench:browser` see them: built by Vite for tests
 * (`mode: 'test'`, which switches on the pages' hooks, web-demo/shared/test-hooks.ts) into a
 * folder of their own (never the user's web-demo/dist), served from 127.0.0.1, and opened in
 * Debian's Chromium (headless, driven by playwright-core, never a downloaded browser).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { build, createServer, preview, type ViteDevServer } from 'vite';
import { ROOT } from './cli.js';
import { must } from './must.js';

export const CHROMIUM = '/usr/bin/chromium';
const CONFIG = join(ROOT, 'web-demo/vite.config.ts');
/** The Vite mode whose builds carry the pages' test hooks. */
const MODE = 'test';

export interface DemoSite {
  /** The built site's base URL, ending in '/'. */
  url: string;
  browser: Browser;
  close(): Promise<void>;
}

/**
 * Headless Chromium; `extraArgs` adds flags (`--enable-unsafe-webgpu`
 * gives pages on 127.0.0.1 a SwiftShader WebGPU adapter).
 */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', ...extraArgs],
  });
}

/**
 * Builds the pages for tests into a temporary folder, serves it on a free
 * port of 127.0.0.1 and launches Chromium (with `chromiumArgs` added).
 */
export async function serveDemo(chromiumArgs: readonly string[] = []): Promise<DemoSite> {
  const outDir = mkdtempSync(join(tmpdir(), 'mnist-demo-'));
  await build({ configFile: CONFIG, mode: MODE, logLevel: 'error', build: { outDir } });
  const server = await preview({
    configFile: CONFIG,
    mode: MODE,
    logLevel: 'error',
    build: { outDir },
    preview: { port: 0, host: '127.0.0.1', strictPort: false },
  });
  const browser = await launchChromium(chromiumArgs);
  return {
    url: must(server.resolvedUrls, 'the preview server URLs').local[0],
    browser,
    async close() {
      await browser.close();
      await new Promise((resolve) => server.httpServer.close(resolve));
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}

/** The pages from Vite's dev server (`npm run demo`), in the test mode, on a free port of 127.0.0.1. */
export async function devServer(): Promise<{ url: string; server: ViteDevServer }> {
  const server = await createServer({
    configFile: CONFIG,
    mode: MODE,
    logLevel: 'error',
    server: { port: 0, host: '127.0.0.1', strictPort: false },
  });
  await server.listen();
  return { url: must(server.resolvedUrls, 'the dev server URLs').local[0], server };
}
