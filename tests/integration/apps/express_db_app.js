// An express service backed by Redis (ioredis) and PostgreSQL (pg).
const path = require('path');
const modules = path.join(__dirname, '..', '..', 'node', 'node_modules');
const express = require(path.join(modules, 'express'));
const Redis = require(path.join(modules, 'ioredis'));
const { Pool } = require(path.join(modules, 'pg'));

const [port, redisPort, pgPort] = process.argv.slice(2).map(Number);
const redis = new Redis({ host: '127.0.0.1', port: redisPort, db: 4, lazyConnect: true });
const pool = new Pool({ host: '127.0.0.1', port: pgPort, database: 'shop', user: 'postgres', max: 1 });
const app = express();

app.get('/orders/:id', async (req, res) => {
  const id = Number(req.params.id);
  const r = await pool.query('SELECT id, total FROM orders WHERE id = $1', [id]);
  await redis.set(`order:${id}`, JSON.stringify(r.rows[0]));
  const views = await redis.incr(`views:${id}`);
  res.json({ order: r.rows[0], views });
});

app.post('/orders', async (req, res) => {
  const r = await pool.query('INSERT INTO orders (total) VALUES ($1) RETURNING id', [42]);
  res.status(201).json({ id: r.rows[0].id });
});

(async () => {
  await redis.connect();
  await pool.query('SELECT 1');
  app.listen(port, '127.0.0.1', () => console.log('listening'));
})();
