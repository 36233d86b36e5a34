// Minimal Express app for sonde's overhead benchmark: GET / -> small JSON.
const express = require('express');
const app = express();
app.get('/', (req, res) => res.json({ ok: true }));
const port = parseInt(process.argv[2] || '18082', 10);
app.listen(port, '127.0.0.1', () => console.log('listening'));
