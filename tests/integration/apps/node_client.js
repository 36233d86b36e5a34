// Makes the requests given as METHOD:PATH arguments over one keep-alive
// connection and prints one line per request: RESULT path status start_ns end_ns.
// Usage: node node_client.js [--ca CA_CERT] PORT STEP...   (--ca: HTTPS trusting CA_CERT)
const fs = require('fs');
const http = require('http');
const https = require('https');

const args = process.argv.slice(2);
const ca = args[0] === '--ca' ? fs.readFileSync(args.splice(0, 2)[1]) : null;
const port = Number(args[0]);
const steps = args.slice(1);
const proto = ca ? https : http;
const agent = new proto.Agent({ keepAlive: true, maxSockets: 1, ca });

async function one(step) {
  const [method, path, headerKV] = step.split(':');
  const headers = {};
  if (headerKV) { const [k, v] = headerKV.split('='); headers[k] = v; }
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const req = proto.request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(`RESULT ${path} ${res.statusCode} ${start}000000 ${Date.now() + 1}000000`));
    });
    req.on('error', reject);
    req.end();
  });
}

(async () => {
  const out = [];
  for (const s of steps) out.push(await one(s));
  agent.destroy();
  console.log(out.join('\n'));
})();
