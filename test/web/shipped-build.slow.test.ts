/**
 * The build a user ships (`npm run build:demo`, Vite's production mode) carries none of the
 * pages' test hooks (web-demo/shared/test-hooks.ts): nothing is put on `window` for tests, and
 * `?trace` means nothing. The browser tests use the test build (test/helpers/demo-site.ts), so
 * they cannot see this; here the production build is made into a temporary folder and read.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { afterAll, expect, test } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const outDir = mkdtempSync(join(tmpdir(), 'mnist-shipped-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

test('the shipped build of the pages holds no test hooks', async () => {
  await build({ configFile: join(ROOT, 'web-demo/vite.config.ts'), logLevel: 'error', build: { outDir } });
  const scripts = readdirSync(join(outDir, 'assets')).filter((f) => f.endsWith('.js'));
  const code = new Map(scripts.map((f) => [f, readFileSync(join(outDir, 'assets', f), 'utf8')]));
  // The pages and the worker are there (the search below reads real code)...
  for (const part of [/^index-/, /^train-(?!worker-)/, /^train-worker-/, /^shared-/])
    expect(
      scripts.some((f) => part.test(f)),
      String(part),
    ).toBe(true);
  expect([...code.values()].some((c) => c.includes('teach-train'))).toBe(true);
  // ...and no hook is in it.
  const hooked = [...code].filter(([, c]) => /mnistDemo|mnistTrain|get\([`'"]trace[`'"]\)/.test(c)).map(([f]) => f);
  expect(hooked).toEqual([]);
}, 120_000);
