// Cross-site WebSocket hijacking, tried for real: a page from another origin
// (another port on 127.0.0.1) opens a WebSocket to the chat example, which
// must refuse it (403 under the default OriginPolicy::SameOrigin, seen by the
// page as an error before any open); the chat's own page opens one to the
// same URL and is accepted.
// Usage: node origin.js http://127.0.0.1:CHAT_PORT/ http://127.0.0.1:OTHER_PORT/
// Prints one line per page; exits 0 when both behaved. Run by
// tests/chat_browser.rs.
const { chromium } = require("playwright-core");

const [chat, other] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const target = `${chat.replace(/^http/, "ws")}ws?name=mallory`;

async function tryOpen(browser, pageUrl) {
  const page = await browser.newPage();
  await page.goto(pageUrl);
  return page.evaluate(
    (url) =>
      new Promise((resolve) => {
        const ws = new WebSocket(url);
        ws.onopen = () => {
          ws.close(1000);
          resolve("open");
        };
        ws.onerror = () => resolve("refused");
        setTimeout(() => resolve("no answer"), 10000);
      }),
    target,
  );
}

(async () => {
  const browser = await chromium.launch({
    executablePath,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  try {
    const foreign = await tryOpen(browser, other);
    console.log(`cross-origin page: ${foreign}`);
    const own = await tryOpen(browser, chat);
    console.log(`same-origin page: ${own}`);
    if (foreign !== "refused" || own !== "open") throw new Error("the origin policy did not hold");
    console.log("ok");
  } finally {
    await browser.close();
  }
})().catch((error) => {
  console.log(`error: ${error}`);
  process.exit(1);
});
