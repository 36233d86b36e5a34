// Plain h2c server for the recorder (record.py): GET answers a small text
// body, POST echoes what it got, /big answers 40000 bytes, /slow answers
// after a while (for cancellation), /push pushes a stylesheet first.
// Usage: node h2_server.js <port> [pad]   (pad: frames padded to the max)
'use strict';
const http2 = require('http2');
const port = Number(process.argv[2]);
const opts = {};
if (process.argv[3] === 'pad') opts.paddingStrategy = http2.constants.PADDING_STRATEGY_MAX;
opts.maxHeaderListSize = 256 * 1024;
const server = http2.createServer(opts);
server.on('stream', (stream, headers) => {
  const path = headers[':path'];
  const method = headers[':method'];
  stream.on('error', () => {});
  if (path === '/slow') {
    const t = setTimeout(() => {
      if (!stream.destroyed) stream.respond({':status': 200}, {endStream: true});
    }, 3000);
    stream.on('close', () => clearTimeout(t));
    return;
  }
  if (path === '/push' && stream.pushAllowed) {
    stream.pushStream({':path': '/style.css'}, (err, push) => {
      if (!err) {
        push.respond({':status': 200, 'content-type': 'text/css'});
        push.end('body { color: black }\n');
      }
    });
  }
  if (method === 'POST') {
    const parts = [];
    stream.on('data', (d) => parts.push(d));
    stream.on('end', () => {
      const body = Buffer.concat(parts);
      stream.respond({':status': 201, 'content-type': 'application/octet-stream',
                      'x-received': String(body.length)});
      stream.end(body);
    });
    return;
  }
  if (path === '/missing') {
    stream.respond({':status': 404, 'content-type': 'text/plain'});
    stream.end('not found\n');
    return;
  }
  const body = path === '/big' ? 'x'.repeat(40000) : 'hello from h2c\n';
  stream.respond({':status': 200, 'content-type': 'text/plain', 'cache-control': 'no-store'});
  stream.end(body);
});
server.listen(port, '127.0.0.1', () => console.log('listening'));
