import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import { IS_PUBLIC } from '../../src/common/auth';
import { auth, offerBody } from '../support/factories';
import { convert } from '../support/network';
import { addFigure } from './support/figures';
import { stripeNetwork, StripeNetwork } from './support/in-process';
import { Party } from './support/network';
import { STRIPE_KEY, WEBHOOK_SECRET } from './support/emulator';

type Role = 'admin' | 'advertiser' | 'affiliate' | 'finance';
const ROLES: Role[] = ['admin', 'advertiser', 'affiliate', 'finance'];
type Whose = 'own' | 'foreign';

interface Call {
  path: string;
  body?: Record<string, unknown>;
  query?: Record<string, string | undefined>;
}

interface Entry {
  /** Roles the route is open to; every other role gets 403, a caller without a key 401. */
  roles: Role[] | 'public';
  /** Builds the call for `role` on its own rows, or on another principal's (only for routes that name a row). */
  call: (role: Role, whose: Whose) => Promise<Call> | Call;
  /** Whether the call names a row that can belong to someone else (then foreign → 404 for non-staff). */
  names?: boolean;
  /** Statuses a permitted call on its own rows may answer (default: 2xx). */
  ok?: number[];
}

/** Every `/v1` route the app serves, read from Nest's own controller metadata. */
function appRoutes(n: StripeNetwork): { route: string; isPublic: boolean }[] {
  const routes: { route: string; isPublic: boolean }[] = [];
  for (const module of n.t.app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as { prototype: Record<string, unknown> } | null;
      if (!controller) continue;
      const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
      for (const name of Object.getOwnPropertyNames(controller.prototype).filter((m) => m !== 'constructor')) {
        const handler = controller.prototype[name] as object;
        const path = typeof handler === 'function' ? Reflect.getMetadata(PATH_METADATA, handler) : undefined;
        if (path === undefined) continue;
        const url = `/${[base, String(path)].join('/')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number];
        const isPublic = Boolean(Reflect.getMetadata(IS_PUBLIC, handler) ?? Reflect.getMetadata(IS_PUBLIC, controller));
        if (url.startsWith('/v1/')) routes.push({ route: `${method} ${url}`, isPublic });
      }
    }
  }
  return routes;
}

describe('access control: every /v1 route × every role × own and foreign rows', () => {
  let n: StripeNetwork;
  let keys: Record<Role, string>;
  let A: Party, B: Party, X: Party, Y: Party, F: Party;
  const secrets = new Set<string>();
  let seq = 0;

  const as = (key: string | undefined, method: string, c: Call) => {
    let req = n.t.http[method.toLowerCase() as 'get'](c.path).query(c.query ?? {});
    if (key) req = req.set(auth(key));
    return method === 'GET' || method === 'DELETE' ? req : req.send(c.body ?? {});
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const ok = async (what: string, res: Promise<{ status: number; body: any }>) => {
    const r = await res;
    if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const party = async (kind: string): Promise<Party> => {
    const p = await ok(
      kind,
      n.t.http
        .post(`/v1/${kind}`)
        .set(auth(n.t.adminKey))
        .send({ name: `${kind} ${++seq}`, email: `${kind}-${seq}-${randomBytes(4).toString('hex')}@example.test` }),
    );
    [p.apiKey, p.postbackToken].filter(Boolean).forEach((s) => secrets.add(s));
    return p;
  };

  // Rows of the (A, X) side and of the (B, Y) side, made fresh when a call may change them.
  const side = (whose: Whose) => (whose === 'own' ? { adv: A, aff: X } : { adv: B, aff: Y });
  const offer = (adv: Party, extra: Record<string, unknown> = {}) =>
    ok('offer', n.t.http.post('/v1/offers').set(auth(adv.apiKey)).send(offerBody(extra))).then((o) => o.id as string);
  const link = async (whose: Whose) => {
    const { adv, aff } = side(whose);
    return ok(
      'link',
      n.t.http
        .post('/v1/links')
        .set(auth(aff.apiKey))
        .send({ offerId: await offer(adv) }),
    ).then((l) => l.id as string);
  };
  const coupon = async (whose: Whose) => {
    const { adv, aff } = side(whose);
    const offerId = await offer(adv);
    return ok(
      'coupon',
      n.t.http
        .post('/v1/coupons')
        .set(auth(adv.apiKey))
        .send({ offerId, affiliateId: aff.id, code: `C${randomBytes(5).toString('hex')}` }),
    ).then((c) => c.id as string);
  };
  const conversion = async (whose: Whose) => {
    const { adv, aff } = side(whose);
    return (await convert(n.t, adv as never, aff as never, { id: await offer(adv), currency: 'USD' })).id;
  };
  /** A conversion of the side held for review (an offer that holds every score), and an appeal its affiliate opened on it. */
  const heldConversion = async (whose: Whose) => {
    const { adv, aff } = side(whose);
    return (await convert(n.t, adv as never, aff as never, { id: await offer(adv, { quality: { holdAbove: 0 } }), currency: 'USD' })).id as string;
  };
  const appeal = async (whose: Whose) => {
    const id = await heldConversion(whose);
    const opened = await ok(
      'appeal',
      n.t.http
        .post(`/v1/conversions/${id}/appeals`)
        .set(auth(side(whose).aff.apiKey))
        .send({ message: 'matrix' }),
    );
    return { id, appealId: opened.id as string };
  };
  /** An approval_required offer of the side's advertiser that its affiliate applied to. */
  const application = async (whose: Whose) => {
    const { adv, aff } = side(whose);
    const offerId = await offer(adv, { visibility: 'approval_required' });
    await ok('apply', n.t.http.post(`/v1/offers/${offerId}/applications`).set(auth(aff.apiKey)).send({}));
    return { offerId, affiliateId: aff.id };
  };
  /** An offer `role` may see when own, and may not when foreign (private: even affiliates cannot). */
  const visibleOffer = (whose: Whose) => (whose === 'own' ? offer(A) : offer(B, { visibility: 'private' }));
  const period = { from: '2026-01-01', to: '2026-02-01' };
  /** A new advertiser billed prepaid, with a USD offer (a top-up needs both). */
  const prepaidAdvertiser = async () => {
    const adv = await party('advertisers');
    await ok('prepaid', n.t.http.patch(`/v1/advertisers/${adv.id}`).set(auth(n.t.adminKey)).send({ billingMode: 'prepaid' }));
    await offer(adv);
    return adv.id as string;
  };
  /** A webhook endpoint of the role's principal on that side (staff, refused anyway, get the advertiser's). */
  const webhookEndpoint = async (role: Role, whose: Whose) => {
    const { adv, aff } = side(whose);
    const owner = role === 'affiliate' ? aff : adv;
    const body = { url: 'https://hooks.example/matrix', events: ['conversion.created'] };
    return ok('webhook endpoint', n.t.http.post('/v1/webhook-endpoints').set(auth(owner.apiKey)).send(body)).then((e) => e.id as string);
  };

  const MATRIX: Record<string, Entry> = {
    'GET /v1/me': { roles: ROLES, call: () => ({ path: '/v1/me' }) },
    'POST /v1/advertisers': { roles: ['admin'], call: () => ({ path: '/v1/advertisers', body: { name: 'New', email: `n${++seq}@example.test` } }) },
    'POST /v1/affiliates': { roles: ['admin'], call: () => ({ path: '/v1/affiliates', body: { name: 'New', email: `n${++seq}@example.test` } }) },
    'POST /v1/finance-users': { roles: ['admin'], call: () => ({ path: '/v1/finance-users', body: { name: 'New', email: `n${++seq}@example.test` } }) },
    'POST /v1/affiliates/signup': { roles: 'public', call: () => ({ path: '/v1/affiliates/signup', body: { name: 'Self', email: `s${++seq}@example.test` } }) },
    'GET /v1/advertisers': { roles: ['admin', 'finance'], call: () => ({ path: '/v1/advertisers' }) },
    'GET /v1/affiliates': { roles: ['admin', 'finance'], call: () => ({ path: '/v1/affiliates' }) },
    'GET /v1/finance-users': { roles: ['admin'], call: () => ({ path: '/v1/finance-users' }) },
    'GET /v1/advertisers/:id': { roles: ['admin', 'finance', 'advertiser'], names: true, call: (_r, w) => ({ path: `/v1/advertisers/${side(w).adv.id}` }) },
    'GET /v1/affiliates/:id': { roles: ['admin', 'finance', 'affiliate'], names: true, call: (_r, w) => ({ path: `/v1/affiliates/${side(w).aff.id}` }) },
    'PATCH /v1/affiliates/:id': { roles: ['admin'], call: () => ({ path: `/v1/affiliates/${X.id}`, body: { name: 'Renamed' } }) },
    'POST /v1/api-keys': { roles: ROLES, call: () => ({ path: '/v1/api-keys', body: { label: 'extra' } }) },
    'GET /v1/api-keys': { roles: ROLES, call: () => ({ path: '/v1/api-keys' }) },
    'DELETE /v1/api-keys/:id': {
      roles: ROLES,
      names: true,
      call: async (role, w) => {
        const owner = w === 'own' ? keys[role] : (role === 'affiliate' ? Y : B).apiKey;
        const created = await ok('key', n.t.http.post('/v1/api-keys').set(auth(owner)).send({ label: 'to revoke' }));
        secrets.add(created.apiKey);
        return { path: `/v1/api-keys/${created.id}` };
      },
    },
    'POST /v1/postback-tokens': { roles: ['advertiser'], call: () => ({ path: '/v1/postback-tokens' }) },
    'POST /v1/offers': { roles: ['advertiser', 'admin'], call: (role) => ({ path: '/v1/offers', body: offerBody(role === 'admin' ? { advertiserId: A.id } : {}) }) },
    'GET /v1/offers': { roles: ROLES, call: () => ({ path: '/v1/offers' }) },
    'GET /v1/offers/:id': { roles: ROLES, names: true, call: async (_r, w) => ({ path: `/v1/offers/${await visibleOffer(w)}` }) },
    'PATCH /v1/offers/:id': { roles: ['advertiser', 'admin'], names: true, call: async (_r, w) => ({ path: `/v1/offers/${await offer(side(w).adv)}`, body: { name: 'Renamed' } }) },
    'POST /v1/offers/:id/applications': {
      roles: ['affiliate'],
      names: true,
      call: async (_r, w) => ({ path: `/v1/offers/${w === 'own' ? await offer(A, { visibility: 'approval_required' }) : await visibleOffer('foreign')}/applications` }),
    },
    'GET /v1/offers/:id/applications': {
      roles: ['advertiser', 'admin'],
      names: true,
      call: async (_r, w) => ({ path: `/v1/offers/${(await application(w)).offerId}/applications` }),
    },
    'POST /v1/offers/:id/applications/:affiliateId/approve': {
      roles: ['advertiser', 'admin'],
      names: true,
      call: async (_r, w) => {
        const a = await application(w);
        return { path: `/v1/offers/${a.offerId}/applications/${a.affiliateId}/approve` };
      },
    },
    'POST /v1/offers/:id/applications/:affiliateId/reject': {
      roles: ['advertiser', 'admin'],
      names: true,
      call: async (_r, w) => {
        const a = await application(w);
        return { path: `/v1/offers/${a.offerId}/applications/${a.affiliateId}/reject` };
      },
    },
    'POST /v1/links': { roles: ['affiliate'], call: async () => ({ path: '/v1/links', body: { offerId: await offer(A) } }) },
    'GET /v1/links': { roles: ['affiliate', 'advertiser', 'admin'], call: () => ({ path: '/v1/links' }) },
    'GET /v1/links/:id': { roles: ['affiliate', 'advertiser', 'admin'], names: true, call: async (_r, w) => ({ path: `/v1/links/${await link(w)}` }) },
    'POST /v1/links/:id/archive': { roles: ['affiliate', 'admin'], names: true, call: async (_r, w) => ({ path: `/v1/links/${await link(w)}/archive` }) },
    'GET /v1/clicks': { roles: ['affiliate', 'advertiser', 'admin'], call: () => ({ path: '/v1/clicks' }) },
    'POST /v1/coupons': {
      roles: ['advertiser', 'admin', 'affiliate'],
      call: async (role) => ({
        path: '/v1/coupons',
        body: { offerId: await offer(A), code: `K${randomBytes(5).toString('hex')}`, ...(role === 'affiliate' ? {} : { affiliateId: X.id }) },
      }),
    },
    'GET /v1/coupons': { roles: ROLES, call: () => ({ path: '/v1/coupons' }) },
    'GET /v1/coupons/:id': { roles: ROLES, names: true, call: async (_r, w) => ({ path: `/v1/coupons/${await coupon(w)}` }) },
    'POST /v1/coupons/:id/:action': { roles: ['advertiser', 'admin'], names: true, call: async (_r, w) => ({ path: `/v1/coupons/${await coupon(w)}/revoke` }) },
    'POST /v1/conversions': {
      roles: ['advertiser', 'admin'],
      call: (role) => ({ path: '/v1/conversions', body: { goal: 'lead', txnId: `T-${++seq}`, ...(role === 'admin' ? { advertiserId: A.id } : {}) } }),
    },
    'GET /v1/conversions': { roles: ROLES, call: () => ({ path: '/v1/conversions' }) },
    'GET /v1/conversions/:id': { roles: ROLES, names: true, call: async (_r, w) => ({ path: `/v1/conversions/${await conversion(w)}` }) },
    ...Object.fromEntries(
      ['approve', 'reject', 'reverse'].map((action) => [
        `POST /v1/conversions/:id/${action}`,
        {
          roles: ['advertiser', 'admin', 'finance'],
          names: true,
          call: async (_r: Role, w: Whose) => ({ path: `/v1/conversions/${await conversion(w)}/${action}`, body: { reason: 'matrix' } }),
        } as Entry,
      ]),
    ),
    'POST /v1/conversions/:id/appeals': {
      roles: ['affiliate'],
      names: true,
      call: async (_r, w) => ({ path: `/v1/conversions/${await heldConversion(w)}/appeals`, body: { message: 'matrix' } }),
    },
    'GET /v1/conversions/:id/appeals': { roles: ROLES, names: true, call: async (_r, w) => ({ path: `/v1/conversions/${await heldConversion(w)}/appeals` }) },
    'POST /v1/conversions/:id/appeals/:appealId/resolve': {
      roles: ['advertiser', 'admin'],
      names: true,
      call: async (_r, w) => {
        const { id, appealId } = await appeal(w);
        return { path: `/v1/conversions/${id}/appeals/${appealId}/resolve`, body: { decision: 'reject', message: 'matrix' } };
      },
    },
    'POST /v1/quality/decisions': {
      roles: ['advertiser', 'admin'],
      call: async () => ({ path: '/v1/quality/decisions', body: { ids: [await heldConversion('own')], decision: 'reject' } }),
    },
    'GET /v1/reports/quality': { roles: ROLES, call: () => ({ path: '/v1/reports/quality', query: { groupBy: 'affiliate,offer', ...period } }) },
    'GET /v1/ledger/entries': { roles: ['admin', 'finance'], call: () => ({ path: '/v1/ledger/entries' }) },
    'GET /v1/ledger/accounts': { roles: ['admin', 'finance'], call: () => ({ path: '/v1/ledger/accounts' }) },
    'POST /v1/adjustments': { roles: ['finance', 'admin'], call: () => ({ path: '/v1/adjustments', body: { affiliateId: X.id, currency: 'USD', amount: 100, reason: 'matrix' } }) },
    'GET /v1/adjustments': { roles: ['finance', 'admin', 'affiliate'], call: () => ({ path: '/v1/adjustments' }) },
    'GET /v1/adjustments/:id': {
      roles: ['finance', 'admin', 'affiliate'],
      names: true,
      call: async (_r, w) => {
        const body = { affiliateId: side(w).aff.id, currency: 'USD', amount: 100, reason: 'matrix' };
        return { path: `/v1/adjustments/${(await ok('adjustment', n.t.http.post('/v1/adjustments').set(auth(F.apiKey)).send(body))).id}` };
      },
    },
    'GET /v1/earnings': {
      roles: ['affiliate', 'admin', 'finance'],
      names: true,
      call: (role, w) => ({ path: '/v1/earnings', query: role === 'affiliate' && w === 'own' ? {} : { affiliateId: side(w).aff.id } }),
    },
    'PUT /v1/postback-settings': {
      roles: ['affiliate'],
      call: () => ({ path: '/v1/postback-settings', body: { urlTemplate: 'https://tracker.example/pb?cid={click_id}&p={payout}' } }),
    },
    'GET /v1/postback-settings': { roles: ['affiliate'], call: () => ({ path: '/v1/postback-settings' }) },
    'DELETE /v1/postback-settings': { roles: ['affiliate'], call: () => ({ path: '/v1/postback-settings' }), ok: [204, 404] },
    'POST /v1/postback-settings/test': { roles: ['affiliate'], call: () => ({ path: '/v1/postback-settings/test' }), ok: [200, 404] },
    'GET /v1/postback-attempts': { roles: ['affiliate', 'admin'], call: () => ({ path: '/v1/postback-attempts' }) },
    'POST /v1/invoice-runs': { roles: ['finance', 'admin'], call: () => ({ path: '/v1/invoice-runs', body: { from: '2020-01-01T00:00:00Z', to: '2020-02-01T00:00:00Z' } }) },
    'GET /v1/invoice-runs/:id': {
      roles: ['finance', 'admin'],
      call: async () => ({
        path: `/v1/invoice-runs/${(await ok('invoice run', n.t.http.post('/v1/invoice-runs').set(auth(F.apiKey)).send({ from: '2020-03-01T00:00:00Z', to: '2020-04-01T00:00:00Z' }))).id}`,
      }),
    },
    'GET /v1/invoices': { roles: ['finance', 'admin', 'advertiser'], call: () => ({ path: '/v1/invoices' }) },
    'POST /v1/payout-accounts': { roles: ['affiliate'], call: () => ({ path: '/v1/payout-accounts' }) },
    'POST /v1/payout-runs': { roles: ['finance', 'admin'], call: () => ({ path: '/v1/payout-runs', body: { currency: 'USD', dryRun: true } }) },
    'GET /v1/payout-runs/:id': {
      roles: ['finance', 'admin'],
      call: async () => ({ path: `/v1/payout-runs/${(await ok('dry run', n.t.http.post('/v1/payout-runs').set(auth(F.apiKey)).send({ currency: 'USD', dryRun: true }))).id}` }),
    },
    'GET /v1/payouts': { roles: ['finance', 'admin', 'affiliate'], call: () => ({ path: '/v1/payouts' }) },
    'GET /v1/statements': {
      roles: ['affiliate', 'finance', 'admin'],
      names: true,
      call: (role, w) => ({ path: '/v1/statements', query: { ...period, ...(role === 'affiliate' && w === 'own' ? {} : { affiliateId: side(w).aff.id }) } }),
    },
    'GET /v1/statements/summary/affiliates': { roles: ['finance', 'admin'], call: () => ({ path: '/v1/statements/summary/affiliates', query: period }) },
    'GET /v1/statements/summary/advertisers': { roles: ['finance', 'admin'], call: () => ({ path: '/v1/statements/summary/advertisers', query: period }) },
    'GET /v1/reports/stats': { roles: ROLES, call: () => ({ path: '/v1/reports/stats', query: { groupBy: 'day,offer', ...period } }) },
    'POST /v1/reports/rebuild': { roles: ['admin'], call: () => ({ path: '/v1/reports/rebuild', body: period }) },
    'PATCH /v1/advertisers/:id': { roles: ['admin'], call: () => ({ path: `/v1/advertisers/${A.id}`, body: { billingMode: 'invoice' } }) },
    'POST /v1/advertisers/:id/fundings': {
      roles: ['finance', 'admin'],
      call: async () => ({ path: `/v1/advertisers/${await prepaidAdvertiser()}/fundings`, body: { amount: 1000, currency: 'USD', reference: 'matrix' } }),
    },
    'GET /v1/advertisers/:id/funding': { roles: ['advertiser', 'finance', 'admin'], names: true, call: (_r, w) => ({ path: `/v1/advertisers/${side(w).adv.id}/funding` }) },
    'POST /v1/offers/:id/bonuses': {
      roles: ['advertiser', 'admin'],
      names: true,
      call: async (_r, w) => ({
        path: `/v1/offers/${await offer(side(w).adv)}/bonuses`,
        body: { name: 'Matrix bonus', metric: 'conversions', threshold: 10, period: 'month', amount: 500 },
      }),
    },
    'GET /v1/offers/:id/bonuses': { roles: ROLES, names: true, call: async (_r, w) => ({ path: `/v1/offers/${await visibleOffer(w)}/bonuses` }) },
    'GET /v1/bonuses': { roles: ROLES, call: () => ({ path: '/v1/bonuses' }) },
    'POST /v1/webhook-endpoints': {
      roles: ['advertiser', 'affiliate'],
      call: () => ({ path: '/v1/webhook-endpoints', body: { url: 'https://hooks.example/matrix', events: ['conversion.created'] } }),
    },
    'GET /v1/webhook-endpoints': { roles: ['advertiser', 'affiliate'], call: () => ({ path: '/v1/webhook-endpoints' }) },
    'GET /v1/webhook-endpoints/:id': {
      roles: ['advertiser', 'affiliate'],
      names: true,
      call: async (role, w) => ({ path: `/v1/webhook-endpoints/${await webhookEndpoint(role, w)}` }),
    },
    'DELETE /v1/webhook-endpoints/:id': {
      roles: ['advertiser', 'affiliate'],
      names: true,
      call: async (role, w) => ({ path: `/v1/webhook-endpoints/${await webhookEndpoint(role, w)}` }),
    },
    'GET /v1/webhook-endpoints/:id/deliveries': {
      roles: ['advertiser', 'affiliate'],
      names: true,
      call: async (role, w) => ({ path: `/v1/webhook-endpoints/${await webhookEndpoint(role, w)}/deliveries` }),
    },
    'PUT /v1/integrations/stripe': {
      roles: ['advertiser'],
      names: true,
      call: async (_r, w) => ({ path: '/v1/integrations/stripe', body: { offerId: await offer(side(w).adv), goal: 'sale', webhookSecret: 'whsec_matrix_0123456789' } }),
    },
    // 404 until the advertiser connected (the PUT above runs first).
    'GET /v1/integrations/stripe': { roles: ['advertiser'], call: () => ({ path: '/v1/integrations/stripe' }), ok: [200, 404] },
  };

  beforeAll(async () => {
    n = await stripeNetwork();
    [A, B, X, Y, F] = await Promise.all([party('advertisers'), party('advertisers'), party('affiliates'), party('affiliates'), party('finance-users')]);
    keys = { admin: n.t.adminKey, advertiser: A.apiKey, affiliate: X.apiKey, finance: F.apiKey };
    secrets.add(n.t.adminKey);
    // Foreign rows that exist all along, for the lists to (never) show.
    await Promise.all([link('foreign'), coupon('foreign'), conversion('foreign'), link('own'), coupon('own'), conversion('own')]);
  }, 120_000);
  afterAll(() => n.close());

  it('has an entry for every /v1 route the app serves, and no entry for a route it does not', () => {
    const served = appRoutes(n)
      .map((r) => r.route)
      .sort();
    expect(served.filter((r) => !MATRIX[r])).toEqual([]);
    expect(Object.keys(MATRIX).filter((r) => !served.includes(r))).toEqual([]);
    const open = appRoutes(n)
      .filter((r) => r.isPublic)
      .map((r) => r.route);
    expect(open).toEqual(
      Object.entries(MATRIX)
        .filter(([, e]) => e.roles === 'public')
        .map(([r]) => r),
    );
  });

  it('answers 401 without a key or with a bad, malformed or revoked one, on every non-public route', async () => {
    const created = await ok('key', n.t.http.post('/v1/api-keys').set(auth(X.apiKey)).send({ label: 'soon revoked' }));
    secrets.add(created.apiKey);
    await n.t.http.get('/v1/me').set(auth(created.apiKey)).expect(200);
    await n.t.http.delete(`/v1/api-keys/${created.id}`).set(auth(X.apiKey)).expect(204);
    const bad = [undefined, created.apiKey, `afx_adm_${randomBytes(32).toString('base64url')}`, 'afx_adm_short', `Basic ${Buffer.from('admin:admin').toString('base64')}`];
    let checked = 0;
    for (const [route, entry] of Object.entries(MATRIX)) {
      if (entry.roles === 'public') continue;
      const [method] = route.split(' ');
      const c = await entry.call('admin', 'own');
      for (const key of bad) {
        const req = as(undefined, method, c);
        const res = await (key === undefined ? req : key.startsWith('Basic') ? req.set('authorization', key) : req.set(auth(key)));
        expect({ route, key: key?.slice(0, 12), status: res.status }).toEqual({ route, key: key?.slice(0, 12), status: 401 });
        checked++;
      }
    }
    addFigure('access checks: unauthenticated or revoked', checked);
  });

  it('lets each role do what the matrix says, refuses the others (403), and hides other principals’ rows (404)', async () => {
    let checked = 0;
    const problems: string[] = [];
    for (const [route, entry] of Object.entries(MATRIX)) {
      const [method] = route.split(' ');
      for (const role of ROLES) {
        const staff = role === 'admin' || role === 'finance';
        const allowed = entry.roles === 'public' || entry.roles.includes(role);
        for (const whose of entry.names && allowed && !staff ? (['own', 'foreign'] as Whose[]) : (['own'] as Whose[])) {
          const c = await entry.call(role, whose);
          const res = await as(keys[role], method, c);
          const expected = !allowed ? [403] : whose === 'foreign' ? [404] : (entry.ok ?? [200, 201, 202, 204]);
          checked++;
          if (!expected.includes(res.status)) problems.push(`${role} ${whose} ${route} → ${res.status} (expected ${expected.join('/')}) ${JSON.stringify(res.body).slice(0, 200)}`);
          if (res.status >= 500) problems.push(`${role} ${route} → ${res.status}`);
        }
      }
    }
    addFigure('access checks: routes × roles × own/foreign', checked);
    addFigure('routes in the access matrix', Object.keys(MATRIX).length);
    expect(problems).toEqual([]);
  });

  it('never puts another principal’s rows in a list, whatever filter is asked for', async () => {
    const foreignOf = async (role: Role) => {
      const ids = new Set<string>([Y.id]);
      const rows = await n.t.dataSource.query(
        `SELECT id::text FROM tracking_links WHERE affiliate_id = $1 UNION ALL SELECT id::text FROM coupons WHERE affiliate_id = $1
         UNION ALL SELECT id::text FROM conversions WHERE affiliate_id = $1 UNION ALL SELECT id::text FROM offers WHERE advertiser_id = $2 AND ($3 OR visibility = 'private')`,
        [Y.id, B.id, role === 'advertiser'],
      );
      rows.forEach((r: { id: string }) => ids.add(r.id));
      if (role === 'advertiser') ids.add(B.id);
      return [...ids];
    };
    let checked = 0;
    for (const role of ['advertiser', 'affiliate'] as Role[]) {
      const foreign = await foreignOf(role);
      for (const [route, entry] of Object.entries(MATRIX)) {
        const [method, path] = route.split(' ');
        if (method !== 'GET' || path.includes(':') || entry.roles === 'public' || !entry.roles.includes(role)) continue;
        const base = await entry.call(role, 'own');
        for (const query of [{}, { affiliateId: Y.id }, { advertiserId: B.id }, { offerId: foreign.at(-1) }] as Record<string, string | undefined>[]) {
          const res = await as(keys[role], 'GET', { ...base, query: { ...base.query, ...query } });
          checked++;
          expect(res.status).toBeLessThan(500);
          const text = JSON.stringify(res.body ?? res.text);
          expect({ role, route, query, leaked: foreign.filter((id) => text.includes(id)) }).toEqual({ role, route, query, leaked: [] });
        }
      }
    }
    addFigure('access checks: list filters probed for leaks', checked);
  });

  it('refuses body fields a role may not set (no mass assignment), changing nothing', async () => {
    const ownOffer = await offer(A);
    const probes: [string, string, string, Record<string, unknown>][] = [
      [A.apiKey, 'POST', '/v1/offers', offerBody({ advertiserId: B.id })],
      [A.apiKey, 'PATCH', `/v1/offers/${ownOffer}`, { advertiserId: B.id }],
      [A.apiKey, 'PATCH', `/v1/offers/${ownOffer}`, { currency: 'EUR' }],
      [A.apiKey, 'POST', '/v1/conversions', { goal: 'lead', txnId: 'MA-1', advertiserId: B.id }],
      [A.apiKey, 'POST', '/v1/conversions', { goal: 'lead', txnId: 'MA-2', status: 'approved', payout: 100000 }],
      [X.apiKey, 'POST', '/v1/links', { offerId: ownOffer, affiliateId: Y.id }],
      [X.apiKey, 'POST', '/v1/coupons', { offerId: ownOffer, code: 'MASSASSIGN1', affiliateId: Y.id }],
      [X.apiKey, 'POST', '/v1/coupons', { offerId: ownOffer, code: 'MASSASSIGN2', status: 'active' }],
      [X.apiKey, 'POST', '/v1/api-keys', { principalId: Y.id }],
      [A.apiKey, 'POST', '/v1/api-keys', { principalId: X.id }],
      [X.apiKey, 'PUT', '/v1/postback-settings', { urlTemplate: 'https://tracker.example/pb', affiliateId: Y.id }],
      [F.apiKey, 'POST', '/v1/payout-runs', { currency: 'USD', status: 'completed' }],
      ['', 'POST', '/v1/affiliates/signup', { name: 'Sneaky', email: 'sneaky@example.test', status: 'active' }],
      ['', 'POST', '/v1/affiliates/signup', { name: 'Sneaky', email: 'sneaky2@example.test', role: 'admin' }],
      [n.t.adminKey, 'PATCH', `/v1/affiliates/${X.id}`, { role: 'admin' }],
      [n.t.adminKey, 'POST', '/v1/advertisers', { name: 'Adv', email: `adv${++seq}@example.test`, role: 'admin' }],
    ];
    const before = await n.t.dataSource.query(
      `SELECT (SELECT count(*) FROM offers WHERE advertiser_id = $1) AS b_offers, (SELECT count(*) FROM principals WHERE role = 'admin') AS admins, (SELECT count(*) FROM tracking_links WHERE affiliate_id = $2) AS y_links, (SELECT count(*) FROM api_keys WHERE principal_id = $2) AS y_keys`,
      [B.id, Y.id],
    );
    for (const [key, method, path, body] of probes) {
      const res = await as(key || undefined, method, { path, body });
      expect({ path, body, refused: [400, 403].includes(res.status) }).toEqual({ path, body, refused: true });
    }
    addFigure('mass-assignment probes refused', probes.length);
    expect(
      await n.t.dataSource.query(
        `SELECT (SELECT count(*) FROM offers WHERE advertiser_id = $1) AS b_offers, (SELECT count(*) FROM principals WHERE role = 'admin') AS admins, (SELECT count(*) FROM tracking_links WHERE affiliate_id = $2) AS y_links, (SELECT count(*) FROM api_keys WHERE principal_id = $2) AS y_keys`,
        [B.id, Y.id],
      ),
    ).toEqual(before);
    const [offerRow] = await n.t.dataSource.query(`SELECT advertiser_id, currency FROM offers WHERE id = $1`, [ownOffer]);
    expect(offerRow).toEqual({ advertiser_id: A.id, currency: 'USD' });
  });

  it('never writes a key, token or secret to the logs', () => {
    for (const s of [STRIPE_KEY, WEBHOOK_SECRET, n.t.env.CLICK_SECRET]) secrets.add(s);
    const leaks = n.t.logs.filter((line) => [...secrets].some((s) => line.includes(s)));
    addFigure('log lines scanned for secrets', n.t.logs.length);
    expect(leaks).toEqual([]);
  });
});
