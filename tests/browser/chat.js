// Two headless Chromium pages chat through the chat example's server.
// Usage: node chat.js http://127.0.0.1:PORT/
// Prints one line per step; exits 0 when both pages saw each other's
// messages, 1 otherwise. Run by tests/chat_browser.rs.
const { chromium } = require("playwright-core");

const base = process.argv[2];
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

async function open(browser, name) {
  const page = await browser.newPage();
  page.on("pageerror", (error) => console.log(`${name} page error: ${error}`));
  await page.goto(`${base}?name=${encodeURIComponent(name)}`);
  await page.waitForFunction(
    (who) => document.getElementById("status").textContent.startsWith(`connected as ${who} in `),
    name,
    { timeout: 15000 },
  );
  console.log(`${name} connected`);
  return page;
}

async function say(page, text) {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

async function sees(page, name, line) {
  await page.waitForFunction(
    (wanted) => [...document.querySelectorAll("#log .message")].some((m) => m.textContent === wanted),
    line,
    { timeout: 15000 },
  );
  console.log(`${name} saw ${JSON.stringify(line)}`);
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
    const alice = await open(browser, "alice");
    const bob = await open(browser, "bob");
    await sees(alice, "alice", "* bob joined");
    await say(alice, "hello from alice");
    await sees(bob, "bob", "alice: hello from alice");
    await say(bob, "hi alice, ünïcode ✓ and <b>not bold</b>");
    await sees(alice, "alice", "bob: hi alice, ünïcode ✓ and <b>not bold</b>");
    // Text is shown as text: no element was made from the message.
    const bold = await alice.$$eval("#log b", (elements) => elements.length);
    if (bold !== 0) throw new Error("a message was rendered as HTML");
    await bob.close();
    await sees(alice, "alice", "* bob left");
    console.log("ok");
  } finally {
    await browser.close();
  }
})().catch((error) => {
  console.log(`failed: ${error.stack || error}`);
  process.exit(1);
});
