// WebSockets over HTTP/2 from a real browser: headless Chromium loads the
// hyper-upgrade example's page over https:// (self-signed, so certificate
// errors are ignored), which ALPN makes HTTP/2; a WebSocket to the same
// origin then goes over that connection as an RFC 8441 extended CONNECT
// (the example logs the version; tests/chat_browser.rs checks it). The
// socket echoes text and binary up to 1 MiB with permessage-deflate and
// closes with 1000.
// Usage: node h2.js https://127.0.0.1:PORT/
// Prints one line per step, then "ok".
const { chromium } = require("playwright-core");

const [origin] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

(async () => {
  const browser = await chromium.launch({
    executablePath,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--ignore-certificate-errors",
    ],
  });
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(origin);
    const protocol = await page.evaluate(
      () => performance.getEntriesByType("navigation")[0].nextHopProtocol,
    );
    console.log(`page over ${protocol}`);
    if (protocol !== "h2") throw new Error(`the page came over ${protocol}, not h2`);
    const result = await page.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws");
          socket.binaryType = "arraybuffer";
          const steps = [];
          const sizes = [0, 1, 125, 126, 65535, 65536, 1 << 20];
          let pending = [];
          const next = () => {
            if (pending.length === 0) {
              socket.close(1000, "done");
              return;
            }
            socket.send(pending[0]);
          };
          socket.onopen = () => {
            steps.push(`extensions: ${socket.extensions}`);
            pending.push("grüße über HTTP/2");
            for (const size of sizes) {
              const bytes = new Uint8Array(size);
              for (let i = 0; i < size; i++) bytes[i] = (i * 31 + size) & 0xff;
              pending.push(bytes.buffer);
            }
            next();
          };
          socket.onmessage = (event) => {
            const sent = pending.shift();
            let same;
            if (typeof sent === "string") {
              same = event.data === sent;
            } else {
              const a = new Uint8Array(sent);
              const b = new Uint8Array(event.data);
              same = a.length === b.length && a.every((value, i) => value === b[i]);
            }
            if (!same) return reject(new Error("an echo differs"));
            steps.push(`echoed ${typeof sent === "string" ? "text" : sent.byteLength + " bytes"}`);
            next();
          };
          socket.onerror = () => reject(new Error("websocket error"));
          socket.onclose = (event) => {
            steps.push(`closed ${event.code} clean ${event.wasClean}`);
            resolve(steps);
          };
          setTimeout(() => reject(new Error("timed out")), 30000);
        }),
    );
    for (const step of result) console.log(step);
    if (!result.some((s) => s.startsWith("extensions: permessage-deflate")))
      throw new Error("permessage-deflate was not negotiated");
    if (!result.includes("closed 1000 clean true")) throw new Error("no clean close");
    console.log("ok");
  } finally {
    await browser.close();
  }
})().catch((error) => {
  console.log(`error: ${error}`);
  process.exit(1);
});
