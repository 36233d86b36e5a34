// An event-loop HTTP service: /work/<n> waits a few milliseconds, then calls
// DOWNSTREAM/items/<n> and answers. Many requests are in flight on the one
// thread at once. Usage: node node_fanout_app.js PORT DOWNSTREAM_PORT
const http = require('http');

const port = Number(process.argv[2]);
const downPort = Number(process.argv[3]);

const server = http.createServer((req, res) => {
  const m = /^\/work\/(\d+)$/.exec(req.url);
  if (!m) {
    res.writeHead(404);
    res.end();
    return;
  }
  const n = Number(m[1]);
  setTimeout(() => {
    http.get({host: '127.0.0.1', port: downPort, path: `/items/${n}`}, (down) => {
      down.resume();
      down.on('end', () => {
        res.writeHead(200, {'Content-Type': 'text/plain'});
        res.end(`ok ${n} ${down.statusCode}`);
      });
    });
  }, (n * 7) % 20);
});
server.listen(port, '127.0.0.1', () => console.log('listening'));
