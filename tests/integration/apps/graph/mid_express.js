// Middle of the call-graph test: an express service on Node's one event loop.
// /node/:n calls the FastAPI service at /fast/:n over a keep-alive agent, so
// many requests are in flight on the one thread at once.
// Usage: node mid_express.js PORT FASTAPI_PORT
const http = require('http');
const path = require('path');
const modules = path.join(__dirname, '..', '..', '..', 'node', 'node_modules');
const express = require(path.join(modules, 'express'));

const [port, fastPort] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const app = express();

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

app.get('/node/:n', async (req, res) => {
  try {
    const r = await get(`http://127.0.0.1:${fastPort}/fast/${Number(req.params.n)}`);
    res.status(r.status).type('text/plain').send(r.body);
  } catch (e) {
    res.status(502).send(String(e));
  }
});

app.listen(port, '127.0.0.1', () => console.log('listening'));
