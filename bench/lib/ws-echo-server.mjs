/**
 * A WebSocket echo server over TLS for the WebSocket benchmark, run as its own process:
 * `node ws-echo-server.mjs PORT CERT KEY`. Every message goes back as it came.
 * @module
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { WebSocketServer } from 'ws';

const [port, cert, key] = process.argv.slice(2);
const server = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) });
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
server.listen(Number(port), '127.0.0.1');
