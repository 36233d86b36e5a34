// @grpc/grpc-js client for the recorder (record.py): three unary calls on one
// channel to the python server's demo.Echo/Ping, then one that fails.
// Usage: node grpc_js_client.js <port>
'use strict';
const path = require('path');
const grpc = require(path.join(__dirname, '../../node/node_modules/@grpc/grpc-js'));
const port = Number(process.argv[2]);
const id = (x) => x;
const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
function call(method, payload, md) {
  return new Promise((resolve) => {
    const meta = new grpc.Metadata();
    for (const [k, v] of Object.entries(md || {})) meta.set(k, v);
    client.makeUnaryRequest(`/demo.Echo/${method}`, id, id, Buffer.from(payload), meta,
                            () => resolve());
  });
}
async function main() {
  await call('Ping', 'one', {'x-user': 'alice'});
  await call('Ping', 'two', {'x-user': 'alice'});
  await call('Ping', 'three', {'x-user': 'bob'});
  await call('Fail', 'four');
  client.close();
}
main();
