// A compressing peer for tests/interop_node.rs, using Node's `ws` package.
//   node node_peer.js client URL   -> talks to our server, exits 0 on success
//   node node_peer.js server       -> echo server on 127.0.0.1, prints its port
const WebSocket = require("ws");

function messages() {
  const out = [];
  for (let i = 0; i < 50; i++) {
    out.push(JSON.stringify({ type: "quote", symbol: "ETH-USD", bid: 3000 + i, ask: 3001 + i, seq: i }).repeat(1 + (i % 5)));
  }
  out.push("x".repeat(1 << 20));
  out.push("");
  return out;
}

function fail(message) {
  console.error(message);
  process.exit(1);
}

const [mode, url] = process.argv.slice(2);
if (mode === "client") {
  const ws = new WebSocket(url, { perMessageDeflate: { threshold: 0 } });
  const expected = messages();
  let received = 0;
  ws.on("open", () => {
    if (!/permessage-deflate/.test(ws.extensions)) fail(`no compression negotiated: ${ws.extensions}`);
    for (const message of expected) ws.send(message);
  });
  ws.on("message", (data, isBinary) => {
    if (isBinary) fail("expected text");
    if (data.toString() !== expected[received]) fail(`echo ${received} differs`);
    received += 1;
    if (received === expected.length) ws.close(1000, "done");
  });
  ws.on("close", (code) => {
    if (received !== expected.length) fail(`only ${received} echoes`);
    if (code !== 1000) fail(`closed with ${code}`);
    console.log(`ok ${received} messages, extensions: ${ws.extensions}`);
    process.exit(0);
  });
  ws.on("error", (error) => fail(`error: ${error.message}`));
} else if (mode === "server") {
  const server = new WebSocket.Server({ host: "127.0.0.1", port: 0, perMessageDeflate: { threshold: 0 } });
  server.on("listening", () => console.log(server.address().port));
  server.on("connection", (ws, request) => {
    const offered = request.headers["sec-websocket-extensions"] || "";
    if (!/permessage-deflate/.test(offered)) ws.close(4000, "no deflate offered");
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on("close", () => server.close(() => process.exit(0)));
  });
} else {
  fail("usage: node_peer.js client URL | server");
}
