import { RetentionService } from '../../src/queue/retention';
import { ClickBuffer } from '../../src/modules/tracking/click-buffer';
import { ClickIdService } from '../../src/modules/tracking/click-id.service';
import { ClickPartitionsService, partitionName } from '../../src/modules/tracking/click-partitions.service';
import { createTestApp, TestApp } from '../support/create-test-app';
import { auth } from '../support/factories';
import { createLinkedSetup, LinkHandle } from '../support/tracking.factories';

const DAY = 24 * 3600 * 1000;

/** The retention job (README, "Retention"): old data goes, younger data and the rollups stay. */
describe('retention job', () => {
  let t: TestApp;
  let link: LinkHandle;
  let advertiserId: string;
  const now = Date.now();
  const ago = (days: number) => new Date(now - days * DAY);

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        CLICK_RETENTION_DAYS: '90',
        CLICK_IP_RETENTION_DAYS: '30',
        POSTBACK_ATTEMPT_RETENTION_DAYS: '30',
        STRIPE_EVENT_RETENTION_DAYS: '30',
        WEBHOOK_EVENT_RETENTION_DAYS: '30',
        SESSION_RETENTION_DAYS: '1',
        RETENTION_BATCH_SIZE: '100',
      },
    });
    const setup = await createLinkedSetup(t);
    link = setup.link;
    advertiserId = setup.advertiser.id;
  });
  afterAll(() => t.close());

  /** Writes a click straight into `clicks` (PostgreSQL routes it to its partition). */
  const insertClick = (id: string, at: Date, ip: string | null = '203.0.113.77', userAgent: string | null = 'Mozilla/5.0') =>
    t.dataSource.query(
      `INSERT INTO clicks (id, clicked_at, link_id, offer_id, affiliate_id, advertiser_id, channel, ip, user_agent, is_unique)
       VALUES ($1, $2, $3, $4, $5, $6, 'other', $7, $8, true)`,
      [id, at.toISOString(), link.id, link.offerId, link.affiliateId, advertiserId, ip, userAgent],
    );
  const partitionNames = async (): Promise<string[]> =>
    (
      await t.dataSource.query(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'clicks'::regclass AND c.relname LIKE 'clicks_p%' ORDER BY 1`,
      )
    ).map((r: { name: string }) => r.name);

  it('drops click partitions past their window, prunes the rest in batches, cuts old IPs, and keeps everything younger and the rollups', async () => {
    const partitions = t.app.get(ClickPartitionsService);
    await partitions.ensure(ago(95), 8); // the days from 95 to 88 days ago
    await partitions.ensure(ago(41), 2); // 41 and 40 days ago

    // A click through the buffer, so its rollup rows exist; its partition is dropped, the rollup stays.
    const rolledAt = ago(94);
    await t.app.get(ClickBuffer).push({
      id: t.app.get(ClickIdService).issue(link.id, rolledAt),
      clickedAt: rolledAt,
      linkId: link.id,
      offerId: link.offerId,
      affiliateId: link.affiliateId,
      advertiserId,
      channel: 'other',
      sub1: 'rolled',
      sub2: null,
      sub3: null,
      sub4: null,
      sub5: null,
      ip: null,
      userAgent: null,
      referrer: null,
      status: 'ok',
    });
    await t.app.get(ClickBuffer).flush();
    const [rollupsBefore] = await t.dataSource.query(`SELECT (SELECT count(*) FROM report_click_hours)::int AS hours, (SELECT count(*) FROM report_click_details)::int AS details`);
    expect(rollupsBefore.hours).toBeGreaterThan(0);

    await insertClick('old-95', ago(95));
    await insertClick('old-92', ago(92));
    // In the partition of the day the window starts in: that day still holds younger clicks, so it stays.
    await insertClick('edge-89.99', new Date(now - 90 * DAY + 60_000));
    await insertClick('old-default', ago(200)); // no partition that far back: the default one
    await insertClick('default-60', ago(60), '198.51.100.9', 'Safari');
    await insertClick('v6-40', ago(40.5), '2001:db8:1234:5678::1', 'Firefox');
    await t.dataSource.query(
      `INSERT INTO clicks (id, clicked_at, link_id, offer_id, affiliate_id, advertiser_id, channel, ip, user_agent, is_unique)
       SELECT 'bulk-' || i, $1::timestamptz + i * interval '1 second', $2, $3, $4, $5, 'other', ('192.0.2.' || (i % 250 + 1))::inet, 'UA ' || i, false
         FROM generate_series(1, 250) AS i`,
      [ago(40.5).toISOString(), link.id, link.offerId, link.affiliateId, advertiserId],
    );
    await insertClick('young-10', ago(10));
    await insertClick('now', new Date(now));

    await t.dataSource.query(
      `INSERT INTO postback_attempts (affiliate_id, attempt, url, latency_ms, outcome, created_at) VALUES ($1, 1, 'https://a.test/old', 5, 'delivered', now() - interval '31 days'), ($1, 1, 'https://a.test/new', 5, 'delivered', now() - interval '29 days')`,
      [link.affiliateId],
    );
    await t.dataSource.query(
      `INSERT INTO stripe_events (id, type, payload, stripe_created_at, received_at, processed_at) VALUES
         ('evt_old', 'payout.paid', '{}', now() - interval '40 days', now() - interval '40 days', now() - interval '40 days'),
         ('evt_old_unprocessed', 'payout.paid', '{}', now() - interval '40 days', now() - interval '40 days', NULL),
         ('evt_new', 'payout.paid', '{}', now() - interval '2 days', now() - interval '2 days', now() - interval '2 days')`,
    );

    const before = await partitionNames();
    const cutoff = now - 90 * DAY;
    const expiredPartitions = before.filter((name) => Date.parse(`${name.slice(8, 12)}-${name.slice(12, 14)}-${name.slice(14, 16)}T00:00:00Z`) + DAY <= cutoff);
    expect(expiredPartitions).toContain(partitionName(ago(95)));
    expect(expiredPartitions).not.toContain(partitionName(new Date(cutoff)));

    const report = await t.app.get(RetentionService).run();

    expect(report).toMatchObject({
      click_partitions: expiredPartitions.length,
      default_partition_clicks: 1,
      click_personal_data: 1 + 1 + 1 + 250, // edge, default-60, v6-40 and the bulk rows
      postback_attempts: 1,
      stripe_events: 1,
      portal_sessions: 0,
      failed_jobs: 0,
    });
    expect(await partitionNames()).toEqual(before.filter((name) => !expiredPartitions.includes(name)));

    const clicks: { id: string; ip: string | null; user_agent: string | null }[] = await t.dataSource.query(
      `SELECT id, host(ip) || '/' || masklen(ip) AS ip, user_agent FROM clicks WHERE id NOT LIKE 'bulk-%' AND coalesce(sub1, '') <> 'rolled' ORDER BY clicked_at`,
    );
    expect(clicks).toEqual([
      { id: 'edge-89.99', ip: '203.0.113.0/24', user_agent: null },
      { id: 'default-60', ip: '198.51.100.0/24', user_agent: null },
      { id: 'v6-40', ip: '2001:db8:1234::/48', user_agent: null },
      { id: 'young-10', ip: '203.0.113.77/32', user_agent: 'Mozilla/5.0' },
      { id: 'now', ip: '203.0.113.77/32', user_agent: 'Mozilla/5.0' },
    ]);
    const [bulk] = await t.dataSource.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE masklen(ip) = 24 AND user_agent IS NULL)::int AS cut FROM clicks WHERE id LIKE 'bulk-%'`,
    );
    expect(bulk).toEqual({ n: 250, cut: 250 });
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM clicks WHERE sub1 = 'rolled'`)).toEqual([{ n: 0 }]);

    const [rollupsAfter] = await t.dataSource.query(`SELECT (SELECT count(*) FROM report_click_hours)::int AS hours, (SELECT count(*) FROM report_click_details)::int AS details`);
    expect(rollupsAfter).toEqual(rollupsBefore);
    expect((await t.dataSource.query(`SELECT url FROM postback_attempts`)).map((r: { url: string }) => r.url)).toEqual(['https://a.test/new']);
    expect((await t.dataSource.query(`SELECT id FROM stripe_events ORDER BY id`)).map((r: { id: string }) => r.id)).toEqual(['evt_new', 'evt_old_unprocessed']);

    // Again: nothing left to remove, and the partitions already cut are not read again.
    const again = await t.app.get(RetentionService).run();
    expect(Object.values(again).every((n) => n === 0)).toBe(true);
    expect(t.logs.join('\n')).toMatch(/retention: removed /);
    const metrics = await t.http.get('/metrics').set(auth(t.adminKey)).expect(200);
    expect(metrics.text).toMatch(/^afx_retention_removed_total\{kind="click_partitions"\} [1-9]/m);
  });
  it('prunes outgoing webhook deliveries and events past WEBHOOK_EVENT_RETENTION_DAYS in batches, and keeps an old event while a younger delivery of it stays', async () => {
    const principal = link.affiliateId;
    const [{ id: endpoint }] = await t.dataSource.query(
      `INSERT INTO webhook_endpoints (principal_id, url, events, secret) VALUES ($1, 'https://hooks.test/in', '{conversion.created}', 'whsec_x') RETURNING id`,
      [principal],
    );
    // 150 old events each with one old delivery (more than a batch of 100), one old event with a young retry, one young event.
    await t.dataSource.query(
      `WITH e AS (
         INSERT INTO webhook_events (principal_id, type, data, source, created_at)
         SELECT $1, 'conversion.created', '{}', 'old-' || g, now() - interval '31 days' FROM generate_series(1, 150) g RETURNING id, created_at)
       INSERT INTO webhook_deliveries (endpoint_id, event_id, attempt, status_code, latency_ms, outcome, created_at)
       SELECT $2, id, 1, 200, 5, 'delivered', created_at FROM e`,
      [principal, endpoint],
    );
    const [{ id: straddling }] = await t.dataSource.query(
      `INSERT INTO webhook_events (principal_id, type, data, source, created_at) VALUES ($1, 'conversion.created', '{}', 'straddling', now() - interval '30 days 12 hours') RETURNING id`,
      [principal],
    );
    const [{ id: young }] = await t.dataSource.query(
      `INSERT INTO webhook_events (principal_id, type, data, source, created_at) VALUES ($1, 'conversion.created', '{}', 'young', now() - interval '2 days') RETURNING id`,
      [principal],
    );
    await t.dataSource.query(
      `INSERT INTO webhook_deliveries (endpoint_id, event_id, attempt, status_code, latency_ms, outcome, created_at) VALUES
         ($1, $2, 1, 500, 5, 'failed', now() - interval '30 days 12 hours'),
         ($1, $2, 2, 200, 5, 'delivered', now() - interval '29 days 12 hours'),
         ($1, $3, 1, 200, 5, 'delivered', now() - interval '2 days')`,
      [endpoint, straddling, young],
    );

    const report = await t.app.get(RetentionService).run();
    expect(report).toMatchObject({ webhook_deliveries: 151, webhook_events: 150 });
    const events = await t.dataSource.query(`SELECT source FROM webhook_events WHERE principal_id = $1 ORDER BY source`, [principal]);
    expect(events.map((r: { source: string }) => r.source)).toEqual(['straddling', 'young']);
    const deliveries = await t.dataSource.query(`SELECT event_id, attempt FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY created_at`, [endpoint]);
    expect(deliveries).toEqual([
      { event_id: straddling, attempt: 2 },
      { event_id: young, attempt: 1 },
    ]);
    expect(await t.app.get(RetentionService).run()).toMatchObject({ webhook_deliveries: 0, webhook_events: 0 });
  });
});
