// Makes the requests given as METHOD:PATH arguments over one keep-alive
// connection and prints one line per request: RESULT path status start_ns end_ns.
const http = require('http');

const port = Number(process.argv[2]);
const steps = process.argv.slice(3);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

async function one(step) {
  const [method, path, headerKV] = step.split(':');
  const headers = {};
  if (headerKV) { const [k, v] = headerKV.split('='); headers[k] = v; }
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
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
