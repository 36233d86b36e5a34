// A Node service instrumented by the OpenTelemetry JS SDK (started with
// `node --require @opentelemetry/auto-instrumentations-node/register`):
// /sdk/<n> calls TARGET<n> and returns its answer. The SDK continues an
// incoming traceparent and sends its own on the call.
// Usage: node sdk_mid.js PORT TARGET
const http = require('http');

const port = Number(process.argv[2]);
const target = process.argv[3];
const agent = new http.Agent({ keepAlive: true });

http.createServer((req, res) => {
  const n = Number(req.url.split('/').pop());
  http.get(`${target}${n}`, { agent }, (down) => {
    let body = '';
    down.on('data', (c) => { body += c; });
    down.on('end', () => {
      res.writeHead(down.statusCode, { 'Content-Type': 'text/plain' });
      res.end(body);
    });
  }).on('error', (e) => {
    res.writeHead(502);
    res.end(String(e));
  });
}).listen(port, '127.0.0.1', () => console.log('listening'));
