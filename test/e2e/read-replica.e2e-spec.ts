import { DataSource } from 'typeorm';
import { cloneTemplate, createTestApp, TestApp } from '../support/create-test-app';
import { auth, createAdvertiser, createAffiliate, createOffer } from '../support/factories';
import { drainQueues } from '../support/drain';
import { convert } from '../support/network';
import { databaseUrl, dropDatabase, randomSuffix } from '../support/test-env';

/**
 * DATABASE_REPLICA_URL: reports and statements read from the replica, everything else from the primary. The
 * "replica" here is a second database of the same schema that only the test writes to, so a
 * figure can only come from where the report really read it.
 */
describe('reads from DATABASE_REPLICA_URL', () => {
  const replicaName = `afx_t_${process.env.AFX_TEST_RUN_ID}_${randomSuffix()}_replica`;
  let replica: DataSource;
  let t: TestApp;

  beforeAll(async () => {
    await cloneTemplate(replicaName);
    replica = await new DataSource({ type: 'postgres', url: databaseUrl(replicaName) }).initialize();
    t = await createTestApp({ workers: true, env: { DATABASE_REPLICA_URL: databaseUrl(replicaName) } });
  });
  afterAll(async () => {
    await t?.close();
    await replica?.destroy();
    await dropDatabase(replicaName);
  });

  it('answers reports from the replica while writes and ordinary reads use the primary', async () => {
    const advertiser = await createAdvertiser(t);
    const affiliate = await createAffiliate(t);
    const offer = await createOffer(t, advertiser);
    const today = new Date().toISOString().slice(0, 10);
    // The replica has what the primary has (as streaming replication would), plus clicks the primary never had.
    for (const table of ['principals', 'offers', 'offer_goals']) {
      const rows: { r: unknown }[] = await t.dataSource.query(`SELECT row_to_json(x) AS r FROM ${table} x`);
      for (const { r } of rows) await replica.query(`INSERT INTO ${table} SELECT * FROM json_populate_record(null::${table}, $1)`, [r]);
    }
    await replica.query(
      `INSERT INTO report_click_hours (hour, offer_id, affiliate_id, channel, clicks, unique_clicks, blocked_clicks) VALUES (date_trunc('hour', now()), $1, $2, 'link', 7, 5, 1)`,
      [offer.id, affiliate.id],
    );
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM report_click_hours`);
    expect(n).toBe(0);

    const res = await t.http.get('/v1/reports/stats').query({ from: today, to: today, timezone: 'UTC', groupBy: 'offer' }).set(auth(t.adminKey)).expect(200);
    expect(res.body.totals).toMatchObject({ clicks: 7, uniqueClicks: 5, blockedClicks: 1 });
    expect(res.body.data).toEqual([expect.objectContaining({ offerId: offer.id, clicks: 7 })]);
    await t.http.get(`/v1/offers/${offer.id}`).set(auth(advertiser.apiKey)).expect(200);
  });

  it('exports statements and period summaries from the replica', async () => {
    const advertiser = await createAdvertiser(t);
    const affiliate = await createAffiliate(t);
    const offer = await createOffer(t, advertiser, { lockPeriodDays: 0 });
    await convert(t, advertiser, affiliate, offer);
    await drainQueues(t);
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM journal_entries e WHERE e.kind = 'commission'`);
    expect(n).toBeGreaterThan(0);
    const today = new Date().toISOString().slice(0, 10);

    // The replica has not caught up with the commission yet: its statement has no movement and its summary no earnings.
    const csv = await t.http.get('/v1/statements').query({ from: today, to: today, format: 'csv', affiliateId: affiliate.id }).set(auth(t.adminKey)).expect(200);
    expect(csv.text).not.toMatch(/,conversion,/);
    const summary = await t.http.get('/v1/statements/summary/affiliates').query({ from: today, to: today }).set(auth(t.adminKey)).expect(200);
    expect(JSON.stringify(summary.body)).not.toContain(affiliate.id);
  });

  it("reads from the primary, with the primary's figures, while the replica cannot be reached", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM report_click_hours`);
    expect(n).toBe(0); // the replica has 7 clicks the primary never had (first test)
    await t.dataSource.query(`ALTER DATABASE "${replicaName}" WITH ALLOW_CONNECTIONS false`);
    await t.dataSource.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [replicaName]);
    try {
      const stats = await t.http.get('/v1/reports/stats').query({ from: today, to: today, timezone: 'UTC', groupBy: 'offer' }).set(auth(t.adminKey));
      expect({ status: stats.status, clicks: stats.body.totals?.clicks }).toEqual({ status: 200, clicks: 0 });
      // Exported from the primary: the commission the replica never saw (second test) is there.
      const [{ affiliate_id: affiliateId }] = await t.dataSource.query(`SELECT affiliate_id FROM conversions LIMIT 1`);
      const csv = await t.http.get('/v1/statements').query({ from: today, to: today, format: 'csv', affiliateId }).set(auth(t.adminKey));
      expect(csv.status).toBe(200);
      expect(csv.text).toMatch(/,conversion,/);
      const summary = await t.http.get('/v1/statements/summary/affiliates').query({ from: today, to: today }).set(auth(t.adminKey)).expect(200);
      expect(JSON.stringify(summary.body)).toContain(affiliateId);
    } finally {
      await t.dataSource.query(`ALTER DATABASE "${replicaName}" WITH ALLOW_CONNECTIONS true`);
    }
  });
});
