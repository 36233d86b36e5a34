// Node.js http2 client for the recorder (record.py). Scenarios:
//   padded    GET and POST with every frame padded to the max
//   bighdr    a request whose header block needs CONTINUATION frames
//   cancel    a request cancelled (RST_STREAM CANCEL) before its answer
//   push      a GET answered with a pushed stream first
// Usage: node h2_client.js <port> <scenario>
'use strict';
const http2 = require('http2');
const port = Number(process.argv[2]);
const scenario = process.argv[3];
const opts = {};
if (scenario === 'padded') opts.paddingStrategy = http2.constants.PADDING_STRATEGY_MAX;
if (scenario === 'push') opts.settings = {enablePush: true};
const client = http2.connect(`http://127.0.0.1:${port}`, opts);
client.on('error', (e) => { console.error(e.message); process.exit(1); });

function request(headers, body) {
  return new Promise((resolve) => {
    const req = client.request(headers, {endStream: body === undefined});
    req.on('response', () => {});
    req.on('data', () => {});
    req.on('end', resolve);
    req.on('close', resolve);
    req.on('error', resolve);
    if (body !== undefined) req.end(body);
  });
}

async function main() {
  if (scenario === 'padded') {
    await request({':path': '/', 'x-scenario': 'padded'});
    await request({':method': 'POST', ':path': '/upload', 'content-type': 'text/plain'},
                  'padded body '.repeat(100));
  } else if (scenario === 'bighdr') {
    // Distinct characters so HPACK cannot shrink it below a frame.
    let v = '';
    for (let i = 0; v.length < 40000; ++i) v += (i * 7919 % 1000003).toString(36);
    await request({':path': '/', 'x-big': v});
    await request({':path': '/missing'});
  } else if (scenario === 'cancel') {
    const req = client.request({':path': '/slow'});
    req.on('error', () => {});
    await new Promise((r) => setTimeout(r, 200));
    req.close(http2.constants.NGHTTP2_CANCEL);
    await new Promise((r) => setTimeout(r, 200));
    await request({':path': '/'});
  } else if (scenario === 'push') {
    client.on('stream', (pushed) => { pushed.on('data', () => {}); pushed.on('error', () => {}); });
    await request({':path': '/push'});
    await new Promise((r) => setTimeout(r, 200));
  }
  client.close();
}
main();
