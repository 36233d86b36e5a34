// A Node.js http service for sonde's integration tests.
// Usage: node node_server.js PORT [--tls CERT KEY [--h2]]
// (--tls: HTTPS; --h2: HTTP/2 over TLS, HTTP/1.1 still offered by ALPN)
const fs = require('fs');
const http = require('http');
const https = require('https');
const http2 = require('http2');

const args = process.argv.slice(2);
const tls = args.indexOf('--tls');
const h2 = args.includes('--h2');

function handle(req, res) {
  let size = 0;
  req.on('data', (c) => { size += c.length; });
  req.on('end', () => {
    if (req.url.startsWith('/items/')) {
      const body = JSON.stringify({ id: req.url.slice(7) });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    } else if (req.url === '/fail') {
      res.writeHead(503, { 'Content-Type': 'text/plain' });
      res.end('unavailable');
    } else if (req.url === '/stream') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });  // no length: chunked
      res.write('one,');
      setTimeout(() => { res.write('two,'); res.end('three'); }, 5);
    } else if (req.url === '/upload' && req.method === 'POST') {
      const body = JSON.stringify({ received: size });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
}

let server;
if (tls < 0) {
  server = http.createServer(handle);
} else {
  const creds = { cert: fs.readFileSync(args[tls + 1]), key: fs.readFileSync(args[tls + 2]) };
  server = h2 ? http2.createSecureServer({ ...creds, allowHTTP1: true }, handle) : https.createServer(creds, handle);
}
server.keepAliveTimeout = 30000;
server.listen(Number(args[0]), '127.0.0.1', () => console.log('listening'));
