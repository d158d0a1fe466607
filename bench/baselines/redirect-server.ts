/**
 * Baseline for the click redirect: a bare node:http server answering the same 302 (Location
 * with the macros filled and a fresh id, the cookie, cache and referrer headers) with no
 * lookup, no click id signature, no buffering and no framework.
 *
 *   node dist-dev/bench/baselines/redirect-server.js --port N
 */
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';

const port = Number(process.argv[process.argv.indexOf('--port') + 1]);
const prefix = randomBytes(30).toString('base64url');
let n = 0;

const server = createServer((req, res) => {
  if (!req.url?.startsWith('/c/')) {
    res.writeHead(404).end();
    return;
  }
  const id = `${prefix}${(++n).toString(36).padStart(20, '0')}`;
  res.writeHead(302, {
    location: `https://shop.example/landing?cid=${id}&aff=7d0c5f6e-3c1b-4f7e-9d2a-1b2c3d4e5f60&s1=bench`,
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer-when-downgrade',
    'set-cookie': `afx_click=${id}; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax`,
    'content-length': '0',
  });
  res.end();
});
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`redirect baseline listening on ${port}\n`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
