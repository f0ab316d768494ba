import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's Chromium (`apt-get install -y chromium`); nothing is ever downloaded. */
export const CHROMIUM = "/usr/bin/chromium";
export const SCREENSHOTS = "test-results";

/**
 * One headless Chromium for a describe block. Without Debian's chromium the block says plainly that it
 * skipped (.ci/run installs it, so CI always runs these).
 */
export function useBrowser(): { current: Browser } {
  const holder = {} as { current: Browser };
  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.log(`      browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
      this.skip();
    }
    holder.current = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-background-networking"],
    });
  });
  after(async () => {
    await holder.current?.close();
  });
  return holder;
}

/** A fresh tab of its own (its own session storage), closed after the test. */
export function usePage(
  browser: { current: Browser },
  options: { width?: number; locale?: string } = {},
): { current: Page; context: BrowserContext } {
  const holder = {} as { current: Page; context: BrowserContext };
  beforeEach(async () => {
    holder.context = await browser.current.newContext({
      viewport: { width: options.width ?? 1280, height: 900 },
      locale: options.locale ?? "en-US",
    });
    holder.current = await holder.context.newPage();
  });
  afterEach(async () => {
    await holder.context?.close();
  });
  return holder;
}

/** A full-page screenshot under test-results/ (ignored by git; README images are copied from there). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
}
