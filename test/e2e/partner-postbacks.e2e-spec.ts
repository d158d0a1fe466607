import fc from 'fast-check';
import { PartnerPostbacksService } from '../../src/modules/partner-postbacks/partner-postbacks.service';
import { OutboxRelay } from '../../src/queue/outbox/outbox.relay';
import { QUEUES } from '../../src/queue/queues';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues, queue } from '../support/drain';
import { auth, createAdvertiser, createAffiliate, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { convert } from '../support/network';
import { PartnerPostbackReceiver, rebindingDns } from '../support/partner-postback-receiver';

interface AttemptView {
  url: string;
  statusCode: number | null;
  error: string | null;
  attempt: number;
  outcome: string;
  responseExcerpt: string | null;
}

async function attemptsOf(t: TestApp, aff: PrincipalHandle, conversionId: string): Promise<AttemptView[]> {
  const res = await t.http.get('/v1/postback-attempts').query({ conversionId }).set(auth(aff.apiKey)).expect(200);
  return res.body.data.reverse();
}

/** Polls until `check` holds (the worker runs jobs on its own); never a fixed sleep. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('outgoing postbacks to private networks', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let offer: OfferHandle;
  const receiver = new PartnerPostbackReceiver();

  beforeAll(async () => {
    await receiver.start();
    // The default: private networks refused. One attempt, so a refused postback does not linger in the queue.
    t = await createTestApp({ workers: true, env: { POSTBACK_ALLOW_PRIVATE_NETWORKS: undefined, POSTBACK_MAX_ATTEMPTS: '1', POSTBACK_TIMEOUT_MS: '1000' } });
    advertiser = await createAdvertiser(t);
    offer = await createOffer(t, advertiser);
  });
  afterAll(async () => {
    await receiver.stop();
    await t?.close();
  });
  beforeEach(() => receiver.received.splice(0));

  it.each(['[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::127.0.0.1]', '2130706433', '0x7f.1', 'localhost', '[::1]'])(
    'refuses an affiliate URL on %s, for a test and a real postback',
    async (host) => {
      const aff = await createAffiliate(t);
      await t.http
        .put('/v1/postback-settings')
        .set(auth(aff.apiKey))
        .send({ urlTemplate: `http://${host}:${receiver.port}/pb?t={txn_id}` })
        .expect(200);
      const test = await t.http.post('/v1/postback-settings/test').set(auth(aff.apiKey)).send({}).expect(200);
      expect(test.body).toMatchObject({ statusCode: null, error: 'target resolves to a private address', responseExcerpt: null });

      const conversion = await convert(t, advertiser, aff, offer);
      await drainQueues(t);
      expect((await attemptsOf(t, aff, conversion.id)).map((a) => a.error)).toEqual(['target resolves to a private address']);
      expect(receiver.received).toEqual([]);
    },
  );

  it('refuses a host name that resolves to loopback only when the connection resolves it (DNS rebinding)', async () => {
    const restore = rebindingDns({ 'tracker.rebind.test': { checked: '203.0.113.7', connected: '127.0.0.1' } });
    try {
      const aff = await createAffiliate(t);
      await t.http
        .put('/v1/postback-settings')
        .set(auth(aff.apiKey))
        .send({ urlTemplate: `http://tracker.rebind.test:${receiver.port}/pb?t={txn_id}` })
        .expect(200);
      const conversion = await convert(t, advertiser, aff, offer);
      await drainQueues(t);
      expect(receiver.received).toEqual([]);
      expect((await attemptsOf(t, aff, conversion.id)).map((a) => a.error)).toEqual(['target resolves to a private address']);
    } finally {
      restore();
    }
  });
});

describe('outgoing postbacks per conversion: in order, once', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let offer: OfferHandle;
  const receiver = new PartnerPostbackReceiver();
  let receiverUrl: string;

  beforeAll(async () => {
    receiverUrl = await receiver.start();
    // Retries wait ten minutes unless a test promotes them: the test decides when a retry runs.
    t = await createTestApp({
      workers: true,
      env: { POSTBACK_ALLOW_PRIVATE_NETWORKS: 'true', POSTBACK_RETRY_BASE_MS: '600000', POSTBACK_MAX_ATTEMPTS: '3', POSTBACK_TIMEOUT_MS: '1000' },
    });
    advertiser = await createAdvertiser(t);
    offer = await createOffer(t, advertiser);
  });
  afterAll(async () => {
    await receiver.stop();
    await t?.close();
  });
  beforeEach(() => receiver.received.splice(0));

  async function affiliateWithUrl(): Promise<PrincipalHandle> {
    const aff = await createAffiliate(t);
    await t.http
      .put('/v1/postback-settings')
      .set(auth(aff.apiKey))
      .send({ urlTemplate: `${receiverUrl}/pb?s={status}&t={txn_id}` })
      .expect(200);
    return aff;
  }
  const statusesReceived = () => receiver.received.map((r) => new URL(r.url, receiverUrl).searchParams.get('s'));

  it('does not send a pending postback retried after the reversal was delivered: it is superseded', async () => {
    const aff = await affiliateWithUrl();
    receiver.answer('error');
    const conversion = await convert(t, advertiser, aff, offer);
    await until(async () => (await attemptsOf(t, aff, conversion.id)).length === 1, 'the first pending attempt');
    const postbacks = queue(t, QUEUES.partnerPostbacks);
    await until(async () => (await postbacks.getDelayedCount()) === 1, 'the pending retry to be scheduled');

    await t.http.post(`/v1/conversions/${conversion.id}/reverse`).set(auth(t.adminKey)).send({ reason: 'refund' }).expect(200);
    await t.app.get(OutboxRelay).drain();
    await until(async () => (await attemptsOf(t, aff, conversion.id)).some((a) => a.statusCode === 200), 'the reversal to be delivered');

    const [retry] = await postbacks.getDelayed();
    await retry.promote();
    await drainQueues(t);

    expect(statusesReceived()).toEqual(['pending', 'reversed']);
    const log = await attemptsOf(t, aff, conversion.id);
    expect(log.map((a) => [new URL(a.url).searchParams.get('s'), a.outcome])).toEqual([
      ['pending', 'failed'],
      ['reversed', 'delivered'],
      ['pending', 'superseded'],
    ]);
  });

  it('sends once when two runs of one job overlap (a stalled job picked up again while the first still sends)', async () => {
    const aff = await createAffiliate(t); // no URL yet: the queued job has nothing to call
    const conversion = await convert(t, advertiser, aff, offer);
    await drainQueues(t);
    await t.http
      .put('/v1/postback-settings')
      .set(auth(aff.apiKey))
      .send({ urlTemplate: `${receiverUrl}/pb?s={status}&t={txn_id}` })
      .expect(200);
    const [{ id: eventId }] = await t.dataSource.query(`SELECT id FROM conversion_events WHERE conversion_id = $1`, [conversion.id]);
    receiver.answer({ status: 200, delayMs: 300 });
    const service = t.app.get(PartnerPostbacksService);
    const runs = await Promise.allSettled([service.deliver(conversion.id, eventId, 1), service.deliver(conversion.id, eventId, 1)]);
    await service.deliver(conversion.id, eventId, 2);

    expect(receiver.received).toHaveLength(1);
    expect(runs.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((await attemptsOf(t, aff, conversion.id)).map((a) => a.outcome).sort()).toEqual(['already_delivered', 'deferred', 'delivered']);
  });

  it('sends a delivered postback once however often its job runs again (stalled or relayed twice)', async () => {
    const aff = await affiliateWithUrl();
    const conversion = await convert(t, advertiser, aff, offer);
    await drainQueues(t);
    expect(receiver.received).toHaveLength(1);

    // The relay hands the same message over again after BullMQ forgot the completed job.
    const [message] = await t.dataSource.query(`SELECT id, payload FROM outbox WHERE topic = 'postback.send' AND aggregate_id = $1`, [conversion.id]);
    await queue(t, QUEUES.partnerPostbacks).remove(`postback-${conversion.id}-${message.payload.eventId}`);
    await t.dataSource.query(`UPDATE outbox SET relayed_at = NULL WHERE id = $1`, [message.id]);
    await drainQueues(t);

    expect(receiver.received).toHaveLength(1);
    expect((await attemptsOf(t, aff, conversion.id)).map((a) => a.outcome)).toEqual(['delivered', 'already_delivered']);
  });
});

describe('outgoing postbacks under any order of job runs, failures and new statuses', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let offer: OfferHandle;
  let aff: PrincipalHandle;
  const receiver = new PartnerPostbackReceiver();

  beforeAll(async () => {
    const receiverUrl = await receiver.start();
    // No workers: the jobs run only when the property runs them, in the order it picked.
    t = await createTestApp({ workers: false, env: { POSTBACK_ALLOW_PRIVATE_NETWORKS: 'true', POSTBACK_TIMEOUT_MS: '1000' } });
    advertiser = await createAdvertiser(t);
    offer = await createOffer(t, advertiser);
    aff = await createAffiliate(t);
    await t.http
      .put('/v1/postback-settings')
      .set(auth(aff.apiKey))
      .send({ urlTemplate: `${receiverUrl}/pb?s={status}&t={txn_id}` })
      .expect(200);
  });
  afterAll(async () => {
    await receiver.stop();
    await t?.close();
  });

  const STATUSES = ['pending', 'approved', 'reversed'];
  /** A step: the next status happens (approve, then reverse), or the job of one existing event runs and the receiver answers 200 or 500. */
  const step = fc.oneof(fc.constant({ kind: 'transition' as const }), fc.record({ kind: fc.constant('run' as const), event: fc.nat(2), ok: fc.boolean() }));

  it("still sends an approval when the payout run's own status move (no postback of its own) came after it", async () => {
    receiver.received.splice(0);
    const conversion = await convert(t, advertiser, aff, offer);
    await t.http.post(`/v1/conversions/${conversion.id}/approve`).set(auth(t.adminKey)).send({}).expect(200);
    const [{ id: approvedEvent }] = await t.dataSource.query(`SELECT max(id) AS id FROM conversion_events WHERE conversion_id = $1`, [conversion.id]);
    // What a payout run writes for each conversion it pays (PayoutRunsService.moveConversions): an event, no outbox message.
    await t.dataSource.query(
      `WITH moved AS (UPDATE conversions SET status = 'paid' WHERE id = $1 RETURNING id)
       INSERT INTO conversion_events (conversion_id, from_status, to_status, actor_type, reason) SELECT id, 'approved', 'paid', 'system', 'paid in a payout' FROM moved`,
      [conversion.id],
    );
    receiver.answer('ok');
    const sent = await t.app.get(PartnerPostbacksService).deliver(conversion.id, approvedEvent, 1);
    expect(sent?.outcome).toBe('delivered');
    expect(receiver.received.map((r) => new URL(r.url, 'http://x').searchParams.get('s'))).toEqual(['approved']);
  });

  it('never sends an older status after a newer one, sends each at most once, and always delivers the last', async () => {
    const service = t.app.get(PartnerPostbacksService);
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 10 }), async (steps) => {
        receiver.received.splice(0);
        const conversion = await convert(t, advertiser, aff, offer);
        const events: string[] = [(await t.dataSource.query(`SELECT id FROM conversion_events WHERE conversion_id = $1`, [conversion.id]))[0].id];
        const run = async (eventId: string, ok: boolean) => {
          receiver.answer(ok ? 'ok' : 'error');
          await service.deliver(conversion.id, eventId, 1).catch(() => undefined);
        };
        for (const s of steps) {
          if (s.kind === 'transition' && events.length < STATUSES.length) {
            await t.http
              .post(`/v1/conversions/${conversion.id}/${events.length === 1 ? 'approve' : 'reverse'}`)
              .set(auth(t.adminKey))
              .send({ reason: 'test' })
              .expect(200);
            events.push((await t.dataSource.query(`SELECT max(id) AS id FROM conversion_events WHERE conversion_id = $1`, [conversion.id]))[0].id);
          } else if (s.kind === 'run' && s.event < events.length) {
            await run(events[s.event], s.ok);
          }
        }
        // BullMQ's retries finish the story: every job runs once more, and the receiver answers.
        for (const eventId of events) await run(eventId, true);

        const sent = receiver.received.map((r) => STATUSES.indexOf(new URL(r.url, 'http://x').searchParams.get('s') as string));
        expect(sent).toEqual([...sent].sort((a, b) => a - b));
        const delivered = await t.dataSource.query(`SELECT event_id FROM postback_deliveries WHERE conversion_id = $1 AND state = 'delivered' ORDER BY event_id`, [conversion.id]);
        expect(delivered.at(-1)?.event_id).toBe(events.at(-1));
        const attempts = await t.dataSource.query(
          `SELECT event_id, count(*)::int AS n FROM postback_attempts WHERE conversion_id = $1 AND outcome = 'delivered' GROUP BY event_id`,
          [conversion.id],
        );
        expect(attempts.every((a: { n: number }) => a.n === 1)).toBe(true);
      }),
      { numRuns: 25 },
    );
  });
});
