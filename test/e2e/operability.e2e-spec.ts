import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../src/app.module';
import { OpsServer } from '../../src/modules/health/ops-server';
import { ClickIdCodec } from '../../src/modules/tracking/click-id';
import { ClickIdService } from '../../src/modules/tracking/click-id.service';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues } from '../support/drain';
import { createAdvertiser, createAffiliate, createOffer } from '../support/factories';
import { convert } from '../support/network';

/** Lines of the app's log as objects (every line is JSON). */
const lines = (t: TestApp): Record<string, unknown>[] => t.logs.map((line) => JSON.parse(line));

async function get(port: number, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, text: await res.text() };
}

/** What an operator reads: health and metrics away from the public port, one line per request, jobs by id. */
describe('operability', () => {
  let t: TestApp;
  let opsPort: number;

  beforeAll(async () => {
    t = await createTestApp({ workers: true, env: { METRICS_PORT: '0', DOCS_ENABLED: 'false', ACCESS_LOG: 'all' } });
    opsPort = await t.app.get(OpsServer).listen(0, '127.0.0.1');
  });
  afterAll(() => t.close());

  it('serves /metrics and health on METRICS_PORT only, and no /docs when DOCS_ENABLED is off', async () => {
    const hidden = await t.http.get('/metrics').expect(404);
    expect(hidden.body.error.code).toBe('not_found');
    await t.http.get('/docs').expect(404);
    await t.http.get('/docs/openapi.json').expect(404);

    expect((await get(opsPort, '/health/live')).status).toBe(200);
    const ready = await get(opsPort, '/health/ready');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toMatchObject({ status: 'ok', checks: { database: { status: 'up' }, redis: { status: 'up' } } });
    expect((await get(opsPort, '/nothing')).status).toBe(404);

    const { status, text } = await get(opsPort, '/metrics');
    expect(status).toBe(200);
    for (const sample of [
      /^afx_queue_jobs\{queue="commissions",state="waiting"\} \d+$/m,
      /^afx_queue_jobs\{queue="postbacks",state="failed"\} \d+$/m,
      /^afx_outbox_backlog_rows \d+$/m,
      /^afx_outbox_oldest_unrelayed_age_seconds [\d.]+$/m,
      /^afx_outbox_parked_rows \d+$/m,
      /^afx_click_buffer_clicks \d+$/m,
      /^afx_click_buffer_capacity 50000$/m,
      /^afx_click_partitions_ahead 7$/m,
      /^afx_db_pool_connections\{state="waiting"\} \d+$/m,
      /^afx_stripe_events_unprocessed 0$/m,
      /^afx_stripe_webhook_lag_seconds 0$/m,
      /^afx_payouts_failed_last_day 0$/m,
      /^# TYPE afx_jobs_failed_total counter$/m,
      /^# TYPE afx_jobs_stalled_total counter$/m,
      /^# TYPE afx_stripe_errors_total counter$/m,
      /^# TYPE afx_postback_attempts_total counter$/m,
      /^# TYPE afx_clicks_dropped_total counter$/m,
      /^# TYPE afx_retention_removed_total counter$/m,
    ])
      expect(text).toMatch(sample);
  });

  it('logs one JSON line per request with its route, status, duration and request id, never the query (tokens)', async () => {
    const res = await t.http.get('/postback').query({ token: 'pbt_notarealtokenbutlookslikeone123', click_id: 'x' }).set('x-request-id', 'req-access-1');
    const access = lines(t).find((l) => l.msg === 'request' && l.requestId === 'req-access-1');
    expect(access).toMatchObject({ level: 30, context: 'Http', method: 'GET', route: '/postback', status: res.status, requestId: 'req-access-1' });
    expect(typeof access!.durationMs).toBe('number');
    expect(t.logs.join('\n')).not.toContain('pbt_notarealtokenbutlookslikeone123');
    // ACCESS_LOG=all logs the click redirect too (the default, api, leaves it out).
    await t.http.get('/c/nosuchlink').set('x-request-id', 'req-click-1');
    expect(lines(t).find((l) => l.requestId === 'req-click-1')).toMatchObject({ msg: 'request', route: '/c/:code' });
  });

  it('logs every job that ran with its queue, name, id, attempt and duration', async () => {
    const advertiser = await createAdvertiser(t);
    const affiliate = await createAffiliate(t);
    const offer = await createOffer(t, advertiser, { lockPeriodDays: 0 });
    await convert(t, advertiser, affiliate, offer);
    await drainQueues(t);
    const done = lines(t).filter((l) => l.msg === 'job done' && l.queue === 'commissions');
    expect(done.length).toBeGreaterThan(0);
    expect(done[0]).toMatchObject({ context: 'JobHandlers', job: 'post-commissions', jobId: expect.any(String), attempt: 1, durationMs: expect.any(Number) });
    const completed = await get(opsPort, '/metrics');
    expect(completed.text).toMatch(/^afx_jobs_completed_total\{queue="commissions"\} [1-9]\d*$/m);
  });
});

/** The worker has no HTTP server: the same OpsServer answers its health and metrics (WORKER_PORT). */
describe('the worker health and metrics port', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('answers health and metrics from an application context without HTTP, and stops answering when it closes', async () => {
    // createTestApp left this app's environment in process.env: the context uses the same database.
    const worker = await NestFactory.createApplicationContext(AppModule.forRoot({ workers: true }), { logger: false });
    const port = await worker.get(OpsServer).listen(0, '127.0.0.1');
    try {
      expect((await get(port, '/health/live')).status).toBe(200);
      expect((await get(port, '/health/ready')).status).toBe(200);
      const metrics = await get(port, '/metrics');
      expect(metrics.text).toMatch(/^afx_queue_jobs\{queue="payouts",state="active"\} \d+$/m);
    } finally {
      await worker.close();
    }
    await expect(get(port, '/health/live')).rejects.toThrow();
  });
});

/** Rotating the click secret (docs/operations.md): the previous secret keeps verifying the ids it signed. */
describe('click secret rotation', () => {
  let t: TestApp;
  const oldSecret = 'o'.repeat(40);
  beforeAll(async () => {
    t = await createTestApp({ env: { CLICK_SECRET: 'n'.repeat(40), CLICK_SECRET_KEY_ID: '1', CLICK_SECRET_PREVIOUS: oldSecret, CLICK_SECRET_PREVIOUS_KEY_ID: '0' } });
  });
  afterAll(() => t.close());

  it('accepts an id the previous secret signed and signs new ids with the new key id', async () => {
    const linkId = '3f0b8c1e-5d2a-4b7c-9e10-0a1b2c3d4e5f';
    const at = new Date('2026-12-01T10:00:00.000Z');
    const service = t.app.get(ClickIdService);
    expect(service.verify(new ClickIdCodec(oldSecret).issue(linkId, at))).toEqual({ linkId, clickedAt: at, status: 'ok' });
    expect(service.verify(new ClickIdCodec('x'.repeat(40)).issue(linkId, at))).toBeNull();
    const fresh = service.issue(linkId, at);
    expect(Buffer.from(fresh, 'base64url')[0] >> 4).toBe(1);
    expect(new ClickIdCodec(oldSecret).verify(fresh)).toBeNull();
  });
});
