// Headless Chromium for the page scripts (visit.mjs, chat-page.mjs):
// puppeteer-core driving Debian's /usr/bin/chromium, or $CHROMIUM.
import puppeteer from "puppeteer-core";

/**
 * Open `url` in a fresh headless Chromium, run `use(page)` and return its
 * result with what the page logged (`console`: console messages and uncaught
 * errors, in order); the browser is closed whatever happens.
 */
export async function onPage(url, use, { width = 1200, height = 900 } = {}) {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu"],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width, height, deviceScaleFactor: 1 });
    const lines = [];
    page.on("console", (m) => lines.push(m.text()));
    page.on("pageerror", (e) => lines.push(String(e)));
    await page.goto(url);
    const result = await use(page);
    return { ...result, console: lines };
  } finally {
    await browser.close();
  }
}
