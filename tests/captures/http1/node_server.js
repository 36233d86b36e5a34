// Real Node.js http server whose responses are recorded by record.py.
'use strict';
const http = require('http');

const server = http.createServer((req, res) => {
  const body = [];
  req.on('data', (d) => body.push(d));
  req.on('end', () => {
    const url = req.url.split('?')[0];
    switch (url) {
      case '/len':
        res.setHeader('Content-Type', 'text/plain');
        res.end('x'.repeat(1234));
        break;
      case '/chunked':
        res.setHeader('Content-Type', 'text/plain');
        res.write('a'.repeat(100));
        res.write('b'.repeat(200));
        res.end('c'.repeat(50));
        break;
      case '/trailers':
        res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Checksum' });
        res.write('first part ');
        res.write('second part');
        res.addTrailers({ 'X-Checksum': 'c0ffee' });
        res.end();
        break;
      case '/nocontent':
        res.statusCode = 204;
        res.end();
        break;
      case '/notmodified':
        res.statusCode = 304;
        res.setHeader('ETag', '"v1"');
        res.end();
        break;
      case '/echo':
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(Buffer.concat(body));
        break;
      case '/stream':
        // An HTTP/1.0 client gets no chunking: the body ends with the connection.
        res.setHeader('Content-Type', 'text/plain');
        res.write('part one, ');
        setTimeout(() => res.end('part two'), 50);
        break;
      default:
        res.statusCode = 404;
        res.end('not found\n');
    }
  });
});

server.on('upgrade', (req, socket) => {
  socket.write('HTTP/1.1 101 Switching Protocols\r\n' +
               'Upgrade: websocket\r\n' +
               'Connection: Upgrade\r\n' +
               'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n');
  // A websocket text frame "hi", then close: bytes that are not HTTP.
  socket.end(Buffer.from([0x81, 0x02, 0x68, 0x69, 0x88, 0x00]));
});

server.keepAliveTimeout = 2000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(String(server.address().port) + '\n');
});
