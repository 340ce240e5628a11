// Two headless Chromium pages follow the leaderboard example's board while
// scores are posted by form (fetch POST /score) and over the page's own
// WebSocket (its form). Usage: node leaderboard.js http://127.0.0.1:PORT/
// Prints one line per step; exits 0 when both boards showed each update.
// Run by tests/chat_browser.rs.
const { chromium } = require("playwright-core");

const base = process.argv[2];
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

async function open(browser, who) {
  const page = await browser.newPage();
  page.on("pageerror", (error) => console.log(`${who} page error: ${error}`));
  await page.goto(base);
  await page.waitForFunction(() => document.getElementById("status").textContent === "live", null, { timeout: 15000 });
  console.log(`${who} live`);
  return page;
}

async function shows(page, who, entries) {
  await page.waitForFunction(
    (wanted) => JSON.stringify([...document.querySelectorAll("#board .entry")].map((e) => e.textContent)) === wanted,
    JSON.stringify(entries),
    { timeout: 15000 },
  );
  console.log(`${who} shows ${entries.join(", ")}`);
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
    const first = await open(browser, "first");
    const second = await open(browser, "second");
    for (const [name, score] of [["alice", 10], ["bob", 30], ["carol", 20]]) {
      const status = await first.evaluate(
        async ([name, score]) => (await fetch("/score", { method: "POST", body: new URLSearchParams({ name, score }) })).status,
        [name, score],
      );
      if (status !== 204) throw new Error(`POST /score answered ${status}`);
    }
    await shows(first, "first", ["bob 30", "carol 20", "alice 10"]);
    await shows(second, "second", ["bob 30", "carol 20", "alice 10"]);
    await second.fill("#name", "dave");
    await second.fill("#score", "25");
    await second.press("#score", "Enter");
    await shows(first, "first", ["bob 30", "dave 25", "carol 20", "alice 10"]);
    // A page that opens now starts from the server's snapshot.
    const third = await open(browser, "third");
    await shows(third, "third", ["bob 30", "dave 25", "carol 20", "alice 10"]);
    console.log("ok");
  } finally {
    await browser.close();
  }
})().catch((error) => {
  console.log(`failed: ${error.stack || error}`);
  process.exit(1);
});
