// Open a page in headless Chromium (puppeteer-core, Debian's /usr/bin/chromium
// or $CHROMIUM), wait for `window.<global>` to be set, print it as JSON and
// optionally take a screenshot. Used by tests/test_demo_browser.py (the
// `auracodec demo --browser` page) and for docs/img/demo-browser.png.
//
//   node test/browser/visit.mjs URL [--global auracodecDemo] [--screenshot FILE] [--timeout MS]
import { onPage } from "./chromium.mjs";

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const url = args[0];
const global = opt("--global", "auracodecDemo");
const screenshot = opt("--screenshot", null);
const timeout = Number(opt("--timeout", "60000"));

const result = await onPage(url, async (page) => {
  await page.waitForFunction(`window.${global} !== undefined`, { timeout });
  const shown = await page.evaluate(`window.${global}`);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  return shown;
});
console.log(JSON.stringify(result));
