/**
 * Baseline for postback ingestion: node:http and a raw `pg` pool (the app's size) doing one
 * INSERT per request into a copy of the conversions table (same columns, indexes and unique
 * key — the authenticated txn space's partial index — created by the harness), answering the conversion's id. The token is compared in memory;
 * no attribution, checks, events, outbox or framework.
 *
 *   node dist-dev/bench/baselines/postback-server.js --port N --database URL --token T --advertiser UUID --table NAME
 */
import { createServer } from 'node:http';
import { Pool } from 'pg';

const arg = (name: string) => process.argv[process.argv.indexOf(`--${name}`) + 1];
const table = arg('table').replace(/[^a-z0-9_]/g, '');
const token = arg('token');
const advertiser = arg('advertiser');
const pool = new Pool({ connectionString: arg('database'), max: 10 });

const SQL = `INSERT INTO ${table} (advertiser_id, goal_key, txn_id, click_id, sale_amount, currency, status, source)
  VALUES ($1, $2, $3, $4, $5, $6, 'pending', 'postback')
  ON CONFLICT (advertiser_id, goal_key, txn_id) WHERE source <> 'pixel' DO UPDATE SET updated_at = ${table}.updated_at
  RETURNING id, status`;

const server = createServer((req, res) => {
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  if (q.get('token') !== token) {
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"code":"invalid_token"}}');
    return;
  }
  const amount = q.get('amount');
  pool
    .query(SQL, [advertiser, q.get('goal'), q.get('txn_id'), q.get('click_id'), amount === null ? null : Math.round(Number(amount) * 100), q.get('currency')])
    .then(({ rows }) => {
      res.writeHead(201, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ id: rows[0].id, status: rows[0].status }));
    })
    .catch((error: Error) => {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'internal', message: error.message } }));
    });
});
server.keepAliveTimeout = 72_000;
server.listen(Number(arg('port')), '127.0.0.1', () => process.stdout.write(`postback baseline listening\n`));
process.once('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
