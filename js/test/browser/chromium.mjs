// Headless Chromium for the browser tests and page scripts: puppeteer-core
// driving Debian's /usr/bin/chromium, or $CHROMIUM.
import { existsSync } from "node:fs";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
/** Why the browser tests skip here, or false. */
export const noChromium = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`;
/** Content types of the files the tests' static servers send. */
export const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json", ".toml": "text/plain" };

/** A headless Chromium (puppeteer-core is imported only when one is launched). */
export async function launch() {
  const puppeteer = (await import("puppeteer-core")).default;
  return puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
}

/** What `page` logs from now on (console messages and uncaught errors, in order). */
export function watch(page) {
  const lines = [];
  page.on("console", (m) => lines.push(m.text()));
  page.on("pageerror", (e) => lines.push(String(e)));
  return lines;
}

/**
 * Open `url` in a fresh headless Chromium, run `use(page)` and return its
 * result with what the page logged (`console`); the browser is closed
 * whatever happens.
 */
export async function onPage(url, use, { width = 1200, height = 900 } = {}) {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.setViewport({ width, height, deviceScaleFactor: 1 });
    const lines = watch(page);
    await page.goto(url);
    const result = await use(page);
    return { ...result, console: lines };
  } finally {
    await browser.close();
  }
}
