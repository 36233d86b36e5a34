// An express service whose async handler calls Redis (ioredis), another
// HTTP service (node's http with a keep-alive agent) and PostgreSQL (pg):
// every call made while handling /work/<n> carries n (Redis key, downstream
// path, a literal in the SQL), so a test knows which request each CLIENT
// span belongs to. Many requests are in flight at once on the one loop.
// Usage: express_links_app.js PORT REDIS_PORT DOWNSTREAM_PORT PG_PORT
const http = require('http');
const path = require('path');
const modules = path.join(__dirname, '..', '..', 'node', 'node_modules');
const express = require(path.join(modules, 'express'));
const Redis = require(path.join(modules, 'ioredis'));
const { Pool } = require(path.join(modules, 'pg'));

const [port, redisPort, downPort, pgPort] = process.argv.slice(2).map(Number);
const redis = new Redis({ host: '127.0.0.1', port: redisPort, lazyConnect: true });
const pool = new Pool({ host: '127.0.0.1', port: pgPort, database: 'shop', user: 'postgres', max: 8 });
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
const app = express();

function down(n) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: downPort, path: `/down/${n}`, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    }).on('error', reject);
  });
}

app.get('/work/:n', async (req, res) => {
  const n = Number(req.params.n);
  await redis.set(`k${n}`, String(n));
  await redis.get(`k${n}`);
  const status = await down(n);
  await pool.query(`SELECT ${n} AS n`);
  res.json({ n, down: status });
});

(async () => {
  await redis.connect();
  // Open every pooled connection before serving (their startup makes no spans).
  const clients = await Promise.all(Array.from({ length: 8 }, () => pool.connect()));
  clients.forEach((c) => c.release());
  app.listen(port, '127.0.0.1', () => console.log('listening'));
})();
