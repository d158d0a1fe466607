import { OutboxRelay } from '../../src/queue/outbox/outbox.relay';
import { QUEUES } from '../../src/queue/queues';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues, queue } from '../support/drain';
import { auth, createAdvertiser, createAffiliate, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { convert } from '../support/network';
import { PostbackReceiver, rebindingDns } from '../support/postback-receiver';

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
  const receiver = new PostbackReceiver();

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

  it.each(['[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::127.0.0.1]', '2130706433', '0x7f.1', 'localhost', '[::1]'])('refuses an affiliate URL on %s, for a test and a real postback', async (host) => {
    const aff = await createAffiliate(t);
    await t.http.put('/v1/postback-settings').set(auth(aff.apiKey)).send({ urlTemplate: `http://${host}:${receiver.port}/pb?t={txn_id}` }).expect(200);
    const test = await t.http.post('/v1/postback-settings/test').set(auth(aff.apiKey)).send({}).expect(200);
    expect(test.body).toMatchObject({ statusCode: null, error: 'target resolves to a private address', responseExcerpt: null });

    const conversion = await convert(t, advertiser, aff, offer);
    await drainQueues(t);
    expect((await attemptsOf(t, aff, conversion.id)).map((a) => a.error)).toEqual(['target resolves to a private address']);
    expect(receiver.received).toEqual([]);
  });

  it('refuses a host name that resolves to loopback only when the connection resolves it (DNS rebinding)', async () => {
    const restore = rebindingDns({ 'tracker.rebind.test': { checked: '203.0.113.7', connected: '127.0.0.1' } });
    try {
      const aff = await createAffiliate(t);
      await t.http.put('/v1/postback-settings').set(auth(aff.apiKey)).send({ urlTemplate: `http://tracker.rebind.test:${receiver.port}/pb?t={txn_id}` }).expect(200);
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
  const receiver = new PostbackReceiver();
  let receiverUrl: string;

  beforeAll(async () => {
    receiverUrl = await receiver.start();
    // Retries wait ten minutes unless a test promotes them: the test decides when a retry runs.
    t = await createTestApp({ workers: true, env: { POSTBACK_ALLOW_PRIVATE_NETWORKS: 'true', POSTBACK_RETRY_BASE_MS: '600000', POSTBACK_MAX_ATTEMPTS: '3', POSTBACK_TIMEOUT_MS: '1000' } });
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
    await t.http.put('/v1/postback-settings').set(auth(aff.apiKey)).send({ urlTemplate: `${receiverUrl}/pb?s={status}&t={txn_id}` }).expect(200);
    return aff;
  }
  const statusesReceived = () => receiver.received.map((r) => new URL(r.url, receiverUrl).searchParams.get('s'));

  it('does not send a pending postback retried after the reversal was delivered: it is superseded', async () => {
    const aff = await affiliateWithUrl();
    receiver.answer('error');
    const conversion = await convert(t, advertiser, aff, offer);
    await until(async () => (await attemptsOf(t, aff, conversion.id)).length === 1, 'the first pending attempt');
    const postbacks = queue(t, QUEUES.postbacks);
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

  it('sends a delivered postback once however often its job runs again (stalled or relayed twice)', async () => {
    const aff = await affiliateWithUrl();
    const conversion = await convert(t, advertiser, aff, offer);
    await drainQueues(t);
    expect(receiver.received).toHaveLength(1);

    // The relay hands the same message over again after BullMQ forgot the completed job.
    const [message] = await t.dataSource.query(`SELECT id, payload FROM outbox WHERE topic = 'postback.send' AND aggregate_id = $1`, [conversion.id]);
    await queue(t, QUEUES.postbacks).remove(`postback-${conversion.id}-${message.payload.eventId}`);
    await t.dataSource.query(`UPDATE outbox SET relayed_at = NULL WHERE id = $1`, [message.id]);
    await drainQueues(t);

    expect(receiver.received).toHaveLength(1);
    expect((await attemptsOf(t, aff, conversion.id)).map((a) => a.outcome)).toEqual(['delivered', 'already_delivered']);
  });
});
