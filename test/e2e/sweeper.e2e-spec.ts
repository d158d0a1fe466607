import { CommissionsService } from '../../src/modules/commissions/commissions.service';
import { ConversionsService } from '../../src/modules/conversions/conversions.service';
import { ClickIdService } from '../../src/modules/tracking/click-id.service';
import { SweeperService } from '../../src/modules/commissions/sweeper.service';
import { JOBS, QUEUES } from '../../src/queue/queues';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues, queue } from '../support/drain';
import { auth, createAdvertiser, createAffiliate, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { expectLedgerVerified } from '../support/ledger';
import { convert } from '../support/network';

/** The sweeper re-drives what the outbox and the queues lost. */
describe('sweeper', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let offer: OfferHandle;
  let sweeper: SweeperService;

  const kindsOf = async (id: string) => (await t.dataSource.query(`SELECT kind FROM journal_entries WHERE cause_id = $1 ORDER BY kind`, [id])).map((r: { kind: string }) => r.kind);
  /** Past the sweeper's grace period, as if it had happened minutes ago. */
  const age = (table: string, id: string) =>
    t.dataSource.query(`UPDATE ${table} SET ${table === 'conversions' ? 'updated_at' : 'created_at'} = now() - interval '10 minutes' WHERE id = $1`, [id]);

  beforeAll(async () => {
    t = await createTestApp({ workers: true });
    sweeper = t.app.get(SweeperService);
    advertiser = await createAdvertiser(t);
    affiliate = await createAffiliate(t);
    offer = await createOffer(t, advertiser, { lockPeriodDays: 0 });
  });
  afterAll(() => t.close());
  afterEach(async () => {
    await queue(t, QUEUES.commissions).resume();
    await drainQueues(t);
    await expectLedgerVerified(t);
  });

  it('posts a conversion whose commission job was lost', async () => {
    await queue(t, QUEUES.commissions).pause();
    const { id } = await convert(t, advertiser, affiliate, offer);
    await drainQueues(t, { except: [QUEUES.maintenance, QUEUES.commissions] });
    await queue(t, QUEUES.commissions).drain(); // the job is lost (a flushed Redis, say)
    await queue(t, QUEUES.commissions).resume();
    await drainQueues(t);
    expect(await kindsOf(id)).toEqual([]);
    await age('conversions', id);
    expect(await sweeper.sweep()).toMatchObject({ missingPostings: 1 });
    expect(await kindsOf(id)).toEqual(['approval', 'commission']);
    expect(await sweeper.sweep()).toMatchObject({ missingPostings: 0 });
    const metrics = await t.http
      .get('/metrics')
      .set({ Authorization: `Bearer ${t.adminKey}` })
      .expect(200);
    expect(metrics.text).toMatch(/^afx_sweeper_redriven_total\{kind="missing_postings"\} 1$/m);
  });

  it('supersedes a pixel conversion that raced an authenticated one for the same txn id (both accepted)', async () => {
    // The race leaves both conversions accepted: the pixel committed and looked for an
    // authenticated conversion just before the postback's one statement committed. Built here
    // by renaming the postback's txn id onto the pixel's, as if they had raced.
    const link = await t.http.post('/v1/links').set(auth(affiliate.apiKey)).send({ offerId: offer.id }).expect(201);
    const clickId = t.app.get(ClickIdService).issue(link.body.id, new Date(Date.now() - 60_000));
    const pixel = await t.app
      .get(ConversionsService)
      .record({ advertiserId: advertiser.id, source: 'pixel', goal: 'lead', txnId: 'RACED-1', clickId }, { type: 'postback', id: advertiser.id });
    const postback = await convert(t, advertiser, affiliate, offer, { txn_id: 'RACED-1-other' });
    await t.dataSource.query(`UPDATE conversions SET txn_id = 'RACED-1' WHERE id = $1`, [postback.id]);
    await drainQueues(t);
    expect(pixel.conversion).toMatchObject({ source: 'pixel', status: 'approved' });
    await age('conversions', pixel.conversion.id);
    await age('conversions', postback.id);
    expect(await sweeper.sweep()).toMatchObject({ racedPixels: 1 });
    await drainQueues(t);
    const rows = await t.dataSource.query(`SELECT source, status, reason FROM conversions WHERE txn_id = 'RACED-1' ORDER BY source`);
    expect(rows).toEqual([
      { source: 'pixel', status: 'rejected', reason: 'superseded_by_postback' },
      { source: 'postback', status: 'approved', reason: null },
    ]);
    expect(await sweeper.sweep()).toMatchObject({ racedPixels: 0 });
  });

  it('retries a commission job that spent its attempts', async () => {
    const { id } = await convert(t, advertiser, affiliate, offer);
    await drainQueues(t);
    const commissions = t.app.get(CommissionsService);
    const spy = jest.spyOn(commissions, 'postMissingEach').mockRejectedValue(new Error('database away'));
    const job = await queue(t, QUEUES.commissions).add(JOBS.postCommission, { id }, { attempts: 1, jobId: `sweeper-test-${id}` });
    try {
      for (let i = 0; i < 200 && !(await job.isFailed()); i++) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(await job.isFailed()).toBe(true);
    } finally {
      spy.mockRestore();
    }
    expect(await sweeper.sweep()).toMatchObject({ failedJobs: 1 });
    await drainQueues(t);
    expect(await queue(t, QUEUES.commissions).getJobState(job.id as string)).toBe('completed');
  });

  it('re-enqueues a payout run and an invoice run left queued without a job', async () => {
    const [admin] = await t.dataSource.query(`SELECT id FROM principals WHERE role = 'admin' LIMIT 1`);
    const [run] = await t.dataSource.query(`INSERT INTO payout_runs (currency, status, requested_by) VALUES ('CHF', 'queued', $1) RETURNING id`, [admin.id]);
    const [invoices] = await t.dataSource.query(
      `INSERT INTO invoice_runs (period_from, period_to, currency, status, requested_by) VALUES (now() - interval '2 days', now() - interval '1 day', 'CHF', 'queued', $1) RETURNING id`,
      [admin.id],
    );
    await drainQueues(t);
    await age('payout_runs', run.id);
    await age('invoice_runs', invoices.id);
    expect(await sweeper.sweep()).toMatchObject({ stuckRuns: 2 });
    await drainQueues(t);
    const [after] = await t.dataSource.query(`SELECT status FROM payout_runs WHERE id = $1`, [run.id]);
    expect(after.status).toBe('completed');
    const [billed] = await t.dataSource.query(`SELECT status FROM invoice_runs WHERE id = $1`, [invoices.id]);
    expect(billed.status).not.toBe('queued');
    expect(await sweeper.sweep()).toMatchObject({ stuckRuns: 0 });
  });

  it('prunes relayed outbox rows past their retention, in batches, and keeps parked and recent ones', async () => {
    await t.dataSource.query(
      `INSERT INTO outbox (topic, aggregate_id, relayed_at) SELECT 'conversion.recorded', 'old-' || n, now() - interval '100 hours' FROM generate_series(1, 2500) n`,
    );
    await t.dataSource.query(`INSERT INTO outbox (topic, aggregate_id, relayed_at) VALUES ('conversion.recorded', 'recent', now())`);
    await t.dataSource.query(
      `INSERT INTO outbox (topic, aggregate_id, parked_at, error) VALUES ('gone.topic', 'parked', now() - interval '100 hours', 'unknown topic gone.topic')`,
    );
    const report = await sweeper.sweep();
    expect(report.prunedOutbox).toBeGreaterThanOrEqual(2500);
    const left = await t.dataSource.query(`SELECT aggregate_id FROM outbox WHERE aggregate_id IN ('recent', 'parked') OR aggregate_id LIKE 'old-%' ORDER BY aggregate_id`);
    expect(left.map((r: { aggregate_id: string }) => r.aggregate_id)).toEqual(['parked', 'recent']);
  });
});
