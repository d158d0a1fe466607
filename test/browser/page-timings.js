/**
 * How long every page of the portal's journeys takes against a running service with the demo's
 * data (README, "Portal"): `npm run demo -- --serve` in one terminal, then
 * `DATABASE_URL=<the demo's database> BASE_URL=http://127.0.0.1:3000 node test/browser/page-timings.js`.
 * It adds one portal user per role to the demo's principals (the demo creates principals through
 * the API only), signs each in through the login form, and requests each page RUNS times over
 * loopback: the figures are the server's time plus a local round trip. Needs `npm run build`.
 */
const { Client } = require('pg');
const { hashPassword } = require('../../dist/src/modules/portal/auth/passwords');

const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:3000';
const RUNS = Number(process.env.RUNS ?? 7);
const PASSWORD = 'page timings password 2026';
const LIMIT_MS = 300;

const PAGES = {
  affiliate: [
    '/portal/affiliate',
    '/portal/reports',
    '/portal/reports?groupBy=channel',
    '/portal/reports?groupBy=day',
    '/portal/affiliate/offers',
    '/portal/affiliate/links',
    '/portal/affiliate/coupons',
    '/portal/affiliate/conversions',
    '/portal/affiliate/payouts',
    '/portal/affiliate/statements',
    '/portal/affiliate/postbacks',
    '/portal/api-keys',
    '/portal/settings',
  ],
  advertiser: [
    '/portal/advertiser',
    '/portal/reports',
    '/portal/reports?groupBy=offer',
    '/portal/reports?groupBy=affiliate',
    '/portal/reports?groupBy=country',
    '/portal/advertiser/offers',
    '/portal/advertiser/offers/new',
    '/portal/advertiser/applications',
    '/portal/advertiser/coupons',
    '/portal/advertiser/conversions',
    '/portal/advertiser/conversions?status=pending',
    '/portal/advertiser/integration',
    '/portal/advertiser/invoices',
  ],
  finance: ['/portal/finance', '/portal/finance/invoices', '/portal/finance/statements', '/portal/reports', '/portal/reports?groupBy=affiliate'],
  admin: ['/portal/admin', '/portal/admin?role=affiliate&status=pending', '/portal/admin?role=advertiser', '/portal/reports?groupBy=offer'],
};

function cookieJar() {
  const jar = new Map();
  return {
    header: () => [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
    take(response) {
      for (const line of response.headers.getSetCookie?.() ?? []) {
        const [pair] = line.split(';');
        const at = pair.indexOf('=');
        jar.set(pair.slice(0, at), pair.slice(at + 1));
      }
    },
  };
}

async function signIn(email) {
  const jar = cookieJar();
  const form = await fetch(`${BASE}/portal/login`);
  jar.take(form);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())[1];
  const res = await fetch(`${BASE}/portal/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
    body: new URLSearchParams({ _csrf: csrf, email, password: PASSWORD }),
  });
  if (res.status !== 303) throw new Error(`sign-in of ${email}: ${res.status}`);
  jar.take(res);
  return jar;
}

async function time(jar, path) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    const res = await fetch(BASE + path, { headers: { cookie: jar.header() }, redirect: 'manual' });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  const warm = times.slice(1).sort((a, b) => a - b);
  return { first: times[0], median: warm[Math.floor(warm.length / 2)], max: warm[warm.length - 1] };
}

async function main() {
  const db = new Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  const hash = await hashPassword(PASSWORD);
  // The principals with the most conversions: the busiest pages.
  const busiest = {
    affiliate: `SELECT affiliate_id AS id FROM conversions WHERE affiliate_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`,
    advertiser: `SELECT advertiser_id AS id FROM conversions GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`,
    finance: `SELECT id FROM principals WHERE role = 'finance' LIMIT 1`,
    admin: `SELECT id FROM principals WHERE role = 'admin' LIMIT 1`,
  };
  let worst = 0;
  for (const [role, pages] of Object.entries(PAGES)) {
    const [{ id }] = (await db.query(busiest[role])).rows;
    const email = `timings-${role}@example.test`;
    await db.query(`DELETE FROM portal_users WHERE lower(email) = $1`, [email]);
    await db.query(`INSERT INTO portal_users (principal_id, email, name, password_hash) VALUES ($1, $2, $3, $4)`, [id, email, `Timings ${role}`, hash]);
    const jar = await signIn(email);
    for (const path of pages) {
      const t = await time(jar, path);
      worst = Math.max(worst, t.median);
      console.log(
        `${role.padEnd(10)} ${path.padEnd(48)} first ${t.first.toFixed(1).padStart(6)} ms  median ${t.median.toFixed(1).padStart(6)} ms  max ${t.max.toFixed(1).padStart(6)} ms`,
      );
    }
    await db.query(`DELETE FROM portal_users WHERE lower(email) = $1`, [email]);
  }
  await db.end();
  console.log(`\nslowest median ${worst.toFixed(1)} ms (limit ${LIMIT_MS} ms)`);
  if (worst >= LIMIT_MS) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
