import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium, installed by .ci/run; a missing browser fails the test, never skips it. */
export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots land here (git-ignored), one per step, for a human to look at. */
export const SHOTS = fileURLToPath(new URL('../../test-output/console/', import.meta.url));

export interface Browser {
  page: Page;
  context: BrowserContext;
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

/** A fresh persistent profile in a temp directory: no state leaks between runs. */
export async function openBrowser(): Promise<Browser> {
  await fs.access(CHROMIUM).catch(() => {
    throw new Error(`${CHROMIUM} is missing: install it with 'apt-get install -y chromium' (.ci/run does)`);
  });
  const profile = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-chromium-'));
  await fs.mkdir(SHOTS, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    viewport: { width: 1100, height: 900 },
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  // Bounded waits everywhere: a broken console fails within seconds instead of hanging the suite.
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  return {
    page,
    context,
    async shot(name) {
      if (errors.length > 0) throw new Error(`the console threw: ${errors.join('; ')}`);
      await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    },
    async close() {
      await context.close();
      await fs.rm(profile, { recursive: true, force: true });
    },
  };
}
