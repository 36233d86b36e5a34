// A Node.js http service for sonde's integration tests.
const http = require('http');

const server = http.createServer((req, res) => {
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
});
server.keepAliveTimeout = 30000;
server.listen(Number(process.argv[2]), '127.0.0.1', () => console.log('listening'));
