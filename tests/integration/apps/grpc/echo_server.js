// sonde.test.Echo served by @grpc/grpc-js.
// Usage: node echo_server.js PORT [CERT KEY]   (with CERT and KEY: TLS)
const fs = require('fs');
const { grpc, Echo } = require('./echo_proto');

// Request metadata whose key starts with "x-" goes back as trailing metadata.
function echoMetadata(call) {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(call.metadata.getMap())) if (k.startsWith('x-')) md.set(k, String(v));
  return md;
}

function failure(code, metadata) {
  return { code, details: `requested status ${code}`, metadata };
}

const handlers = {
  Unary(call, callback) {
    const md = echoMetadata(call);
    if (call.request.fail_with) return callback(failure(call.request.fail_with, md));
    callback(null, { message: call.request.message, index: 0 }, md);
  },
  ServerStream(call) {
    const md = echoMetadata(call);
    for (let i = 0; i < call.request.count; i++) call.write({ message: call.request.message, index: i });
    if (call.request.fail_with) call.emit('error', failure(call.request.fail_with, md));
    else call.end(md);
  },
  ClientStream(call, callback) {
    let n = 0, fail = 0, message = '';
    call.on('data', (r) => { n++; fail = r.fail_with || fail; message = r.message; });
    call.on('end', () => {
      const md = echoMetadata(call);
      if (fail) callback(failure(fail, md));
      else callback(null, { message, index: n }, md);
    });
  },
  Bidi(call) {
    let n = 0, fail = 0;
    call.on('data', (r) => { fail = r.fail_with || fail; call.write({ message: r.message, index: n++ }); });
    call.on('end', () => {
      const md = echoMetadata(call);
      if (fail) call.emit('error', failure(fail, md));
      else call.end(md);
    });
  },
};

const [port, cert, key] = process.argv.slice(2);
const creds = cert
  ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: fs.readFileSync(cert), private_key: fs.readFileSync(key) }])
  : grpc.ServerCredentials.createInsecure();
const server = new grpc.Server();
server.addService(Echo.service, handlers);
server.bindAsync(`127.0.0.1:${port}`, creds, (err) => {
  if (err) { console.error(err.message); process.exit(1); }
  console.log('listening');
});
