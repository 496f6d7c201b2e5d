/**
 * Headless Chromium for the console's browser tests and screenshots: Debian's `chromium` (installed by
 * scripts/install-test-tools.sh, which `npm test` runs first), driven by playwright-core with no
 * browser download. Without it a test fails naming the install command; it never skips.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { tool } from '../helpers/tools';

/** The machine has no network: keep Chromium from trying (background networking floods refused connections). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A browser with a fresh profile; pages are tabs (each with its own sessionStorage). */
export async function launch(viewport = { width: 1400, height: 1000 }): Promise<{ ctx: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(path.join(tmpdir(), 'console-e2e-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH || tool('chromium'),
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  ctx.setDefaultTimeout(20_000);
  return {
    ctx,
    close: async () => {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** An open console tab; errors thrown in the page fail the test at `check()`. */
export interface ConsoleTab {
  page: Page;
  /** Assert no error was thrown in the page, and close it. */
  check(): Promise<void>;
}

/**
 * Open the console in a new tab at `hash` ("#/topics"), with `query` ("?refresh=500"); waits until both
 * live streams are up unless `waitLive` is false.
 */
export async function openConsole(ctx: BrowserContext, httpPort: number, hash = '', query = '', waitLive = true): Promise<ConsoleTab> {
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${httpPort}/console/${query}${hash}`);
  if (waitLive) await page.getByTestId('live-status').and(page.locator('[data-state="live"]')).waitFor();
  return {
    page,
    check: async () => {
      assert.deepEqual(errors, [], 'errors thrown in the page');
      await page.close();
    },
  };
}
