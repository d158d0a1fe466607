import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { AddressInfo, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import IORedis from 'ioredis';
import { Client } from 'pg';
import { clickIdOf, createLink, createOffer, createPrincipal, postbackPath, PrincipalHandle, PrincipalKind } from '../../test/support/seed/factories';
import { StripeEmulator } from '../../test/support/stripe-emulator/emulator';
import { forEachWithProgress, ProgressBar } from '../common/cli/progress';
import { formatMinorUnits } from '../common/money';
import { childEnvironment, readEnvironment } from '../config/configuration';
import { qualityDemo } from './quality-demo';
import { ApiClient, seededRandom } from './demo-client';
import { showStripeSubscription } from './stripe-subscription';
import { runPrograms } from './programs';

const WEBHOOK_SECRET = `whsec_demo_${randomBytes(12).toString('hex')}`;
const ADMIN_KEY = `afx_adm_demo_${randomBytes(18).toString('base64url')}`;
const OUT_DIR = resolve('statements-out');
/** The demo is a dev tool (dist-dev, `npm run build:dev`); the service it starts is the production build (`npm run build`). */
const APP_DIST = resolve(__dirname, '../../../dist/src');
const random = seededRandom(42);
/** The demo talks to a person on stdout; the service's own logs stay JSON. */
const say = (line: string) => process.stdout.write(`${line}\n`);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** The comment the demo leaves on the database it made: the one database it will drop again. */
const DEMO_MARK = 'afflux demo database (npm run demo drops and refills it)';

/**
 * The demo's database is the one DATABASE_URL names: created when missing; dropped and made again
 * when an earlier demo made it or it holds no table; refused when it holds anything else (someone's
 * data). No other database is ever dropped.
 */
async function prepareDemoDatabase(url: string): Promise<void> {
  const admin = new URL(url);
  const name = decodeURIComponent(admin.pathname.slice(1));
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rows } = await client.query<{ comment: string | null }>(`SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`, [name]);
    if (rows.length && rows[0].comment !== DEMO_MARK && (await tableCount(url)) > 0)
      throw new Error(
        `DATABASE_URL names the database "${name}", which holds tables an earlier demo did not make; the demo drops and refills its database, so name another one (DATABASE_URL=postgres://…/afflux_demo npm run demo)`,
      );
    if (rows.length) await client.query(`DROP DATABASE "${name.replace(/"/g, '""')}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    await client.query(`COMMENT ON DATABASE "${name.replace(/"/g, '""')}" IS '${DEMO_MARK}'`);
  } finally {
    await client.end();
  }
}

async function tableCount(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`);
    return rows[0].n;
  } finally {
    await client.end();
  }
}

/** Deletes the Redis keys of the demo's queue prefix (queues, counters, caches: all under its hash tag). */
async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = new IORedis(redisUrl, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 1000);
      if (keys.length) deleted += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the outbox is empty and no queue has work (the scheduler's delayed job aside). */
async function settle(db: Client, admin: ApiClient, stripe: StripeEmulator): Promise<void> {
  await waitFor('the workers to finish', async () => {
    await stripe.flushWebhooks();
    const [{ n }] = (await db.query(`SELECT count(*)::int AS n FROM outbox WHERE relayed_at IS NULL`)).rows;
    const { queues } = await admin.get<{ queues: { name: string; counts: Record<string, number> }[] }>('/admin/queues/api/queues');
    const busy = queues
      .filter((q) => q.name !== 'maintenance')
      .reduce((sum, q) => sum + (q.counts.active ?? 0) + (q.counts.waiting ?? 0) + (q.counts.delayed ?? 0) + (q.counts.prioritized ?? 0), 0);
    return n === 0 && busy === 0 ? true : undefined;
  });
}

async function main(): Promise<void> {
  const env = readEnvironment();
  const serve = process.argv.includes('--serve');
  const databaseUrl = env.DATABASE_URL;
  const queuePrefix = `afxdemo${randomBytes(3).toString('hex')}`;
  say(`Afflux demo: a small network on ${databaseUrl.replace(/\/\/[^@]*@/, '//')} with a local Stripe emulator\n`);
  await prepareDemoDatabase(databaseUrl);

  const stripe = new StripeEmulator({ webhookSecret: WEBHOOK_SECRET });
  const { url: stripeUrl } = await stripe.start();
  const port = serve ? env.PORT : await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  stripe.setWebhookUrl(`${baseUrl}/webhooks/stripe`);
  const service: ChildProcess = spawn(process.execPath, [join(APP_DIST, 'main.js')], {
    env: childEnvironment({
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_BASE_URL: baseUrl,
      ADMIN_API_KEY: ADMIN_KEY,
      QUEUE_PREFIX: queuePrefix,
      RUN_WORKERS: 'true',
      LOG_LEVEL: 'warn',
      // Nothing routes traffic to the demo's service: it closes at once when the demo ends.
      SHUTDOWN_DRAIN_MS: '0',
      STRIPE_SECRET_KEY: 'sk_test_demo',
      STRIPE_API_URL: stripeUrl,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    }),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const db = new Client({ connectionString: databaseUrl });
  try {
    const api = new ApiClient(baseUrl);
    await waitFor('the service to answer /health', () => api.get('/health').then(() => true));
    await db.connect();
    const admin = api.as(ADMIN_KEY);
    await run(api, admin, db, stripe);
    await verifyLedger(databaseUrl);
    say(`\nDocs:               ${baseUrl}/docs`);
    say(`Queue dashboard:    ${baseUrl}/admin/queues  (admin key ${ADMIN_KEY})`);
    if (serve) {
      say('\nServing the demo network; press Ctrl+C to stop.');
      await new Promise((r) => process.once('SIGINT', r));
    } else {
      say(`\nThe service stopped with the demo. Keep it running with the demo data: npm run demo -- --serve`);
    }
  } finally {
    await db.end().catch(() => undefined);
    if (service.exitCode === null) {
      service.kill('SIGTERM');
      await new Promise((r) => service.once('exit', r));
    }
    await stripe.stop();
    const deleted = await deleteRedisKeys(env.REDIS_URL, queuePrefix).catch(() => 0);
    say(`Removed the demo's ${deleted} Redis keys ({${queuePrefix}}*).`);
  }
}

async function run(api: ApiClient, admin: ApiClient, db: Client, stripe: StripeEmulator): Promise<void> {
  const create = (kind: PrincipalKind, name: string) => createPrincipal(admin, kind, name, `${name.toLowerCase().replace(/\W+/g, '.')}@demo.afflux.test`);
  const acme = await create('advertisers', 'Acme Outdoor');
  const nordic = await create('advertisers', 'Nordic Home');
  const finance = await create('finance-users', 'Fiona Finance');
  // Public offers whose conversions are approved at once (no lock period).
  const offers = [
    await createOffer(api, acme, {
      name: 'Acme tents – summer',
      landingUrl: 'https://acme.example/tents?cid={click_id}&aff={affiliate_id}&s1={sub1}',
      lockPeriodDays: 0,
      goals: [
        { key: 'sale', revenue: { type: 'percent', bps: 1200 }, payout: { type: 'percent', bps: 800 } },
        { key: 'lead', revenue: { type: 'flat', amount: 500 }, payout: { type: 'flat', amount: 300 } },
      ],
    }),
    await createOffer(api, nordic, {
      name: 'Nordic Home – sofas',
      currency: 'EUR',
      landingUrl: 'https://nordic.example/sofas?clickid={click_id}&sub={sub1}',
      lockPeriodDays: 0,
      goals: [{ key: 'sale', revenue: { type: 'percent', bps: 1000 }, payout: { type: 'percent', bps: 700 } }],
    }),
  ];
  const advertiserOf = (offerIndex: number) => (offerIndex === 0 ? acme : nordic);

  const affiliates: PrincipalHandle[] = [];
  await forEachWithProgress(
    'Affiliates onboarded',
    Array.from({ length: 20 }, (_, i) => i),
    4,
    async (i) => {
      const affiliate = await create('affiliates', `Partner ${String(i + 1).padStart(2, '0')}`);
      const { accountId } = await api.as(affiliate.apiKey).post<{ accountId: string }>('/v1/payout-accounts');
      stripe.completeOnboarding(accountId);
      affiliates.push(affiliate);
    },
  );

  const links: { code: string; offerIndex: number }[] = [];
  for (const affiliate of affiliates) {
    for (const offerIndex of [0, 1]) {
      const link = await createLink(api, affiliate, offers[offerIndex].id, { channel: pick(['email', 'seo', 'social', 'display']), label: 'demo' });
      links.push({ code: link.code, offerIndex });
    }
  }

  const clicks: { clickId: string; offerIndex: number }[] = [];
  await forEachWithProgress(
    'Clicks through /c/:code',
    Array.from({ length: 4000 }, () => pick(links)),
    32,
    async (link) => {
      const res = await api.get<{ location: string }>(`/c/${link.code}?sub1=${pick(['spring', 'newsletter', 'blog'])}&sub2=${pick(['a', 'b'])}`);
      clicks.push({ clickId: clickIdOf(res.location), offerIndex: link.offerIndex });
    },
  );

  const converting = clicks.filter(() => random() < 0.08);
  const conversions: { id: string; offerIndex: number; txnId: string; goal: string }[] = [];
  await forEachWithProgress('Conversions by postback', converting, 16, async (click, i) => {
    const offerIndex = click.offerIndex;
    const goal = offerIndex === 0 && random() < 0.4 ? 'lead' : 'sale';
    const amount = `${20 + Math.floor(random() * 280)}.${String(Math.floor(random() * 100)).padStart(2, '0')}`;
    const txnId = `DEMO-${offerIndex}-${i}`;
    const token = advertiserOf(offerIndex).postbackToken as string;
    const res = await api.get<{ id: string }>(postbackPath({ token, clickId: click.clickId, goal, txnId, amount: goal === 'sale' ? amount : undefined }));
    conversions.push({ id: res.id, offerIndex, txnId, goal });
  });

  const reversed = conversions.filter(() => random() < 0.05);
  await forEachWithProgress('Reversals', reversed, 8, async (c) => {
    await api.get(postbackPath({ token: advertiserOf(c.offerIndex).postbackToken as string, goal: c.goal, txnId: c.txnId, status: 'reversed' }));
  });
  await settle(db, admin, stripe);
  say('Commissions posted and approved (lock period 0).');
  await runPrograms(api, admin, () => settle(db, admin, stripe));

  const financeApi = api.as(finance.apiKey);
  for (const currency of ['USD', 'EUR']) {
    const run = await financeApi.post<{ id: string }>('/v1/payout-runs', { currency });
    const bar = new ProgressBar(`Payout run ${currency}`, 1);
    const result = await waitFor(`payout run ${currency}`, async () => {
      const view = await financeApi.get<{ status: string; progress: { done: number; total: number }; amounts: { done: number } }>(`/v1/payout-runs/${run.id}`);
      bar.update(view.progress.done, Math.max(1, view.progress.total));
      return view.status === 'completed' || view.status === 'failed' ? view : undefined;
    });
    bar.done(`${result.status}: ${result.progress.done} payouts, ${formatMinorUnits(result.amounts.done, currency)} ${currency}`);
  }

  const now = Date.now();
  const invoiceRun = await financeApi.post<{ id: string }>('/v1/invoice-runs', { from: new Date(now - 86_400_000).toISOString(), to: new Date(now + 60_000).toISOString() });
  const invoiceBar = new ProgressBar('Invoice run', 1);
  await waitFor('the invoice run', async () => {
    const view = await financeApi.get<{ status: string; progress: { done: number; total: number } }>(`/v1/invoice-runs/${invoiceRun.id}`);
    invoiceBar.update(view.progress.done, Math.max(1, view.progress.total));
    return view.status === 'completed' ? view : undefined;
  });
  const invoices = await financeApi.get<{ data: { stripeInvoiceId: string; amount: number; currency: string }[] }>(`/v1/invoices?runId=${invoiceRun.id}`);
  invoiceBar.done(`${invoices.data.length} invoices`);
  if (invoices.data[0]) stripe.payInvoice(invoices.data[0].stripeInvoiceId);
  await settle(db, admin, stripe);

  await mkdir(OUT_DIR, { recursive: true });
  const day = new Date().toISOString().slice(0, 10);
  const top = affiliates[0];
  const files: string[] = [];
  for (const format of ['csv', 'pdf', 'json'] as const) {
    const file = join(OUT_DIR, `statement-partner-01-${day}.${format}`);
    await writeFile(file, await financeApi.download(`/v1/statements?affiliateId=${top.id}&from=${day}&to=${day}&format=${format}`));
    files.push(file);
  }
  const summary = join(OUT_DIR, `summary-affiliates-${day}.csv`);
  await writeFile(summary, await financeApi.download(`/v1/statements/summary/affiliates?from=${day}&to=${day}&format=csv`));
  files.push(summary);

  await showStripeSubscription(api, admin, affiliates[1], () => settle(db, admin, stripe));
  await printFigures(db, clicks.length, conversions.length, reversed.length, invoices.data.length);
  await printReport(admin);
  await qualityDemo(api, admin, say);
  say('\nStatements written:');
  for (const file of files) say(`  ${file}`);
}

/** The same check as `npm run ledger:verify`, on the demo's database. */
async function verifyLedger(databaseUrl: string): Promise<void> {
  say('\nLedger verification');
  const verify = spawn(process.execPath, [join(APP_DIST, 'ledger-verify.js')], { env: childEnvironment({ DATABASE_URL: databaseUrl }), stdio: ['ignore', 'pipe', 'inherit'] });
  verify.stdout?.on('data', (chunk: Buffer) => process.stdout.write(chunk.toString().replace(/^/gm, '  ')));
  const code = await new Promise<number | null>((r) => verify.once('exit', r));
  if (code !== 0) throw new Error('the demo ledger does not verify');
}

async function printFigures(db: Client, clicks: number, conversions: number, reversals: number, invoices: number): Promise<void> {
  const { rows } = await db.query(`SELECT currency, type, balance FROM ledger_accounts WHERE owner_id IS NULL ORDER BY currency, type`);
  const [{ n: stored }] = (await db.query(`SELECT count(*)::int AS n FROM clicks`)).rows;
  const [{ n: transfers }] = (await db.query(`SELECT count(*)::int AS n FROM payouts WHERE status = 'paid'`)).rows;
  say('\nFigures');
  say(`  clicks served ${clicks}, stored ${stored}; conversions ${conversions}; reversals ${reversals}; payouts ${transfers}; invoices ${invoices}`);
  // The margin is a credit (what the network earned): shown positive, like the clearing's net cash.
  const label: Record<string, string> = { network_margin: 'network margin', stripe_clearing: 'Stripe net cash' };
  for (const r of rows) {
    const shown = r.type === 'network_margin' ? -Number(r.balance) : Number(r.balance);
    say(`  ${(label[r.type] ?? r.type).padEnd(16)} ${r.currency}  ${formatMinorUnits(shown, r.currency).padStart(12)}`);
  }
}

async function printReport(admin: ApiClient): Promise<void> {
  const day = new Date().toISOString().slice(0, 10);
  const report = await admin
    .get<{ data: Record<string, number | string>[] }>(`/v1/reports/stats?groupBy=offer&from=${day}&to=${day}`)
    .catch((error: Error) => ({ data: [], error: error.message }));
  say('\nReport by offer (today, UTC)');
  say(`  ${'offer'.padEnd(38)}${'cur'.padEnd(5)}${'clicks'.padStart(8)}${'conv'.padStart(7)}${'revenue'.padStart(12)}${'payout'.padStart(12)}${'EPC'.padStart(9)}`);
  for (const r of report.data) {
    const currency = String(r.currency);
    say(
      `  ${String(r.offerId).padEnd(38)}${currency.padEnd(5)}${String(r.clicks).padStart(8)}${String(r.conversions).padStart(7)}` +
        `${formatMinorUnits(Number(r.revenue), currency).padStart(12)}${formatMinorUnits(Number(r.payout), currency).padStart(12)}${String(r.epc).padStart(9)}`,
    );
  }
}

void main().catch((error) => {
  process.stderr.write(`demo failed: ${error?.stack ?? error}\n`);
  process.exit(1);
});
