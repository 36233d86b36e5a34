// ioredis scenarios for the recorded captures; run by record.py with
// NODE_PATH pointing at tests/node/node_modules.
//   node ioredis_client.js <scenario> <port>
const Redis = require('ioredis');

const scenario = process.argv[2];
const port = Number(process.argv[3]);

async function basic() {
  const r = new Redis({ port, host: '127.0.0.1' });
  await r.set('user:7:name', 'grace');
  await r.get('user:7:name');
  await r.hset('user:7', 'name', 'grace', 'lang', 'cobol');
  await r.hgetall('user:7');
  await r.incr('visits');
  await r.lpush('str-is-list', 'x');
  try {
    await r.hget('str-is-list', 'f');  // WRONGTYPE
  } catch (e) {}
  await r.del('user:7:name', 'user:7');
  await r.quit();
}

async function pipeline() {
  const r = new Redis({ port, host: '127.0.0.1', db: 3 });
  await r.ping();
  await r.pipeline().set('p:a', '1').set('p:b', '2').incr('p:a').mget('p:a', 'p:b').exec();
  await r.multi().set('m:a', 'x').incr('m:n').get('m:a').exec();
  await r.quit();
}

async function pubsub() {
  const sub = new Redis({ port, host: '127.0.0.1' });
  const pub = new Redis({ port: Number(process.argv[4]), host: '127.0.0.1' });
  let got = 0;
  await new Promise((resolve) => {
    sub.on('message', () => { if (++got === 2) resolve(); });
    sub.subscribe('orders', 'alerts').then(async () => {
      await pub.publish('orders', 'order-1');
      await pub.publish('alerts', 'disk full');
    });
  });
  await sub.unsubscribe('orders', 'alerts');
  await sub.quit();
  await pub.quit();
}

const scenarios = { basic, pipeline, pubsub };
scenarios[scenario]().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
