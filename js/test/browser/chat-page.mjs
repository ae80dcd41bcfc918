// The chat page of examples/chat-fastapi in headless Chromium (puppeteer-core,
// Debian's /usr/bin/chromium or $CHROMIUM): type each prompt, wait for its
// reply to finish, and print the rendered replies (the page's text, as
// shown) and its byte counts as JSON. Used by tests/test_example_chat_fastapi.py.
//
//   node test/browser/chat-page.mjs URL PROMPT... [--timeout MS] [--screenshot FILE]
import { onPage } from "./chromium.mjs";

const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args.splice(args.indexOf(name), 2)[1] : undefined);
const timeout = Number(option("--timeout") ?? 60000);
const screenshot = option("--screenshot");
const [url, ...prompts] = args;

const result = await onPage(
  url,
  async (page) => {
    await page.waitForFunction("document.querySelector('#prompt:not([disabled])') || window.auracodecChat?.error", { timeout });
    for (const [i, prompt] of prompts.entries()) {
      await page.type("#prompt", prompt);
      await page.keyboard.press("Enter");
      await page.waitForFunction(`window.auracodecChat.replies.length > ${i} || window.auracodecChat.error`, { timeout });
    }
    const shown = await page.evaluate(() => ({
      replies: [...document.querySelectorAll(".assistant .text")].map((e) => e.textContent),
      stats: window.auracodecChat.replies,
      error: window.auracodecChat.error,
      status: document.getElementById("status").textContent,
    }));
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    return shown;
  },
  { width: 900, height: 700 },
);
console.log(JSON.stringify(result));
