// The chat page of examples/chat-fastapi in headless Chromium (puppeteer-core,
// Debian's /usr/bin/chromium or $CHROMIUM): type each prompt, wait for its
// reply to finish, and print the rendered replies (the page's text, as
// shown) and its byte counts as JSON. Used by tests/test_example_chat_fastapi.py.
//
//   node test/browser/chat-page.mjs URL PROMPT... [--timeout MS] [--screenshot FILE]
import puppeteer from "puppeteer-core";

const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args.splice(args.indexOf(name), 2)[1] : undefined);
const timeout = Number(option("--timeout") ?? 60000);
const screenshot = option("--screenshot");
const [url, ...prompts] = args;

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 900, height: 700, deviceScaleFactor: 1 });
  const lines = [];
  page.on("console", (m) => lines.push(m.text()));
  page.on("pageerror", (e) => lines.push(String(e)));
  await page.goto(url);
  await page.waitForFunction("document.querySelector('#prompt:not([disabled])') || window.auracodecChat?.error", { timeout });
  for (const [i, prompt] of prompts.entries()) {
    await page.type("#prompt", prompt);
    await page.keyboard.press("Enter");
    await page.waitForFunction(`window.auracodecChat.replies.length > ${i} || window.auracodecChat.error`, { timeout });
  }
  const result = await page.evaluate(() => ({
    replies: [...document.querySelectorAll(".assistant .text")].map((e) => e.textContent),
    stats: window.auracodecChat.replies,
    error: window.auracodecChat.error,
    status: document.getElementById("status").textContent,
  }));
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ ...result, console: lines }));
} finally {
  await browser.close();
}
