/**
 * The browser tests' shared set-up around the demo site (demo-site.ts): without
 * /usr/bin/chromium the tests are skipped with the reason, unless REQUIRE_BROWSER=1 (CI sets it),
 * in which case its absence is a failure; each page is guarded against leaving 127.0.0.1.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect, test } from 'vitest';
import { CHROMIUM, type DemoSite } from './demo-site.js';
import { must } from './must.js';

export { type DemoSite, devServer, serveDemo } from './demo-site.js';

const hasChromium = existsSync(CHROMIUM);
const required = process.env.REQUIRE_BROWSER === '1';
/** True when the browser tests cannot run here (and are not required to). */
export const noBrowser = !hasChromium && !required;

/** One test that fails without Chromium under REQUIRE_BROWSER=1 and otherwise says the others were skipped. */
export function browserAvailable(what: string): void {
  test(`a browser is available for the ${what} tests`, () => {
    if (required) expect(existsSync(CHROMIUM), `${CHROMIUM} (apt-get install -y chromium)`).toBe(true);
    else if (!hasChromium) console.warn(`${what} tests skipped: ${CHROMIUM} not found (apt-get install -y chromium)`);
  });
}

/**
 * Records the page's console errors into `errors`, and refuses (recording into `outside`) any
 * request that would leave 127.0.0.1; routed on the context, so the page's workers are covered.
 */
export async function guardPage(page: Page, errors: string[], outside: string[]): Promise<void> {
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.context().route('**/*', (route) => {
    const target = new URL(route.request().url());
    if (target.hostname === '127.0.0.1' || target.protocol === 'data:' || target.protocol === 'blob:')
      return route.continue();
    outside.push(target.href);
    return route.abort();
  });
}

/** A new page of the site at `path`, guarded as `guardPage` says; its console errors come back with it. */
export async function openGuarded(
  site: DemoSite,
  path: string,
  outside: string[],
  viewport = { width: 1000, height: 900 },
): Promise<{ page: Page; errors: string[] }> {
  const page = await site.browser.newPage({ viewport });
  const errors: string[] = [];
  await guardPage(page, errors, outside);
  await page.goto(site.url + path);
  return { page, errors };
}

/** Clicks `button` on `page` and saves the file it downloads into `dir`; its path and the name the page suggested. */
export async function saveDownload(page: Page, button: string, dir: string): Promise<{ path: string; name: string }> {
  const [d] = await Promise.all([page.waitForEvent('download', { timeout: 180_000 }), page.click(button)]);
  const path = join(dir, d.suggestedFilename());
  await d.saveAs(path);
  return { path, name: d.suggestedFilename() };
}

/** The text of the element `selector` picks, or a failure naming it. */
export async function textOf(page: Page, selector: string): Promise<string> {
  return must(await page.textContent(selector), `the text of ${selector}`);
}
