// Calls sonde.test.Echo with @grpc/grpc-js over one channel.
// Usage: node echo_client.js PORT [--ca CA_CERT] CALL...   (CALL as in echo_client.py)
// Prints per call: RESULT KIND STATUS START_NS END_NS replies=N echo=KEY=VALUE;... details=GRPC_MESSAGE
const fs = require('fs');
const readline = require('readline');
const { grpc, Echo } = require('./echo_proto');

// The tests connect to 127.0.0.1 (the certificate names it): Node warns that
// an IP address is not a valid TLS server name, which is expected here.
process.noDeprecation = true;

function parseCall(spec) {
  const [kind, ...opts] = spec.split(',');
  const call = { kind, count: 1, fail: 0, msg: 'hello', md: [] };
  for (const o of opts) {
    const at = o.indexOf('=');
    const key = o.slice(0, at), value = o.slice(at + 1);
    if (key === 'md') call.md.push([value.slice(0, value.indexOf('=')), value.slice(value.indexOf('=') + 1)]);
    else if (key === 'count' || key === 'fail') call[key] = Number(value);
    else call[key] = value;
  }
  return call;
}

// Resolves once the call has its status and, for single replies, its callback.
function run(client, c) {
  const md = new grpc.Metadata();
  for (const [k, v] of c.md) md.add(k, v);
  const options = { deadline: Date.now() + 10000 };
  const one = { message: c.msg, fail_with: c.fail, count: c.count };
  const many = [...Array(c.count).keys()].map((i) => ({ message: `${c.msg}-${i}`, fail_with: c.fail }));
  return new Promise((resolve) => {
    let replies = 0, status = null, pending = 2;
    const done = () => { if (--pending === 0) resolve({ replies, status }); };
    const callback = (err, reply) => { if (!err && reply) replies++; done(); };
    let call;
    if (c.kind === 'unary') call = client.Unary(one, md, options, callback);
    else if (c.kind === 'client_stream') call = client.ClientStream(md, options, callback);
    else {
      pending = 1;
      call = c.kind === 'server_stream' ? client.ServerStream(one, md, options) : client.Bidi(md, options);
      call.on('data', () => replies++);
      call.on('error', () => {});  // the status event says what happened
    }
    call.on('status', (s) => { status = s; done(); });
    if (c.kind === 'client_stream' || c.kind === 'bidi') {
      for (const r of many) call.write(r);
      call.end();
    }
  });
}

function nowNs(roundUp) { return `${Date.now() + (roundUp ? 1 : 0)}000000`; }

(async () => {
  const args = process.argv.slice(2);
  const target = `127.0.0.1:${args.shift()}`;
  let creds = grpc.credentials.createInsecure();
  if (args[0] === '--ca') { creds = grpc.credentials.createSsl(fs.readFileSync(args[1])); args.splice(0, 2); }
  const client = new Echo(target, creds);
  let stdin = null;  // opened at the first pause only
  for (const spec of args) {
    const c = parseCall(spec);
    if (!['unary', 'server_stream', 'client_stream', 'bidi', 'pause'].includes(c.kind)) {
      console.error(`unknown call kind '${c.kind}'`);
      process.exit(2);
    }
    if (c.kind === 'pause') {
      console.log('paused');
      stdin = stdin || readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
      await stdin.next();
      continue;
    }
    const t0 = nowNs(false);
    const { replies, status } = await run(client, c);
    const t1 = nowNs(true);
    const echo = Object.entries(status.metadata.getMap()).filter(([k]) => k.startsWith('x-')).map(([k, v]) => `${k}=${v}`);
    console.log(`RESULT ${c.kind} ${status.code} ${t0} ${t1} replies=${replies} echo=${echo.join(';')} details=${status.code ? status.details : ''}`);
  }
  client.close();
  process.exit(0);
})();
