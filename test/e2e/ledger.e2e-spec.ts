import { randomUUID } from 'node:crypto';
import { LedgerService } from '../../src/modules/ledger/ledger.service';
import { LedgerError } from '../../src/modules/ledger/ledger.errors';
import { approvalLines, commissionLines, PostingInput, PostingLine } from '../../src/modules/ledger/ledger.postings';
import { formatVerification, LedgerCheck, verifyLedger } from '../../src/modules/ledger/ledger.verify';
import { createTestApp, TestApp } from '../support/create-test-app';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, PrincipalHandle } from '../support/factories';

describe('ledger', () => {
  let t: TestApp;
  let ledger: LedgerService;
  let advertiser: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let otherAffiliate: PrincipalHandle;
  let idleAffiliate: PrincipalHandle;
  let finance: PrincipalHandle;

  const post = (input: PostingInput) => t.dataSource.transaction((m) => ledger.post(m, input));
  const conversion = (affiliateId: string, revenue: number, payout: number, currency = 'USD') => ({ affiliateId, advertiserId: advertiser.id, currency, revenue, payout });
  const postCommission = (causeId: string, affiliateId: string, revenue: number, payout: number, currency = 'USD') =>
    post({ kind: 'commission', causeType: 'conversion', causeId, lines: commissionLines(conversion(affiliateId, revenue, payout, currency)) });
  const count = async (sql: string, params: unknown[] = []) => Number((await t.dataSource.query(sql, params))[0].count);

  beforeAll(async () => {
    t = await createTestApp();
    ledger = t.app.get(LedgerService);
    [advertiser, affiliate, otherAffiliate, idleAffiliate, finance] = await Promise.all([
      createAdvertiser(t),
      createAffiliate(t),
      createAffiliate(t),
      createAffiliate(t),
      createFinanceUser(t),
    ]);
    // The affiliate earns 700 of a 1000 USD result, approved, and 50 EUR still pending.
    const c1 = randomUUID();
    await postCommission(c1, affiliate.id, 1000, 700);
    await post({ kind: 'approval', causeType: 'conversion', causeId: c1, lines: approvalLines(conversion(affiliate.id, 1000, 700)) });
    await postCommission(randomUUID(), affiliate.id, 80, 50, 'EUR');
    await postCommission(randomUUID(), otherAffiliate.id, 300, 200);
  });
  afterAll(() => t.close());

  describe('the database guards', () => {
    it.each(['journal_entries', 'journal_lines'])('%s refuses UPDATE, DELETE and TRUNCATE, even of no row', async (table) => {
      const before = await count(`SELECT count(*) FROM ${table}`);
      await expect(t.dataSource.query(`UPDATE ${table} SET created_at = now()`)).rejects.toThrow(/append-only/);
      await expect(t.dataSource.query(`UPDATE ${table} SET created_at = now() WHERE false`)).rejects.toThrow(/append-only/);
      await expect(t.dataSource.query(`DELETE FROM ${table}`)).rejects.toThrow(/append-only/);
      await expect(t.dataSource.query(`TRUNCATE ${table} CASCADE`)).rejects.toThrow(/append-only/);
      expect(await count(`SELECT count(*) FROM ${table}`)).toBe(before);
    });

    it('keeps an account’s identity: its currency, type and owner never change and it is never deleted', async () => {
      await expect(t.dataSource.query(`UPDATE ledger_accounts SET currency = 'GBP'`)).rejects.toThrow(/append-only/);
      await expect(t.dataSource.query(`UPDATE ledger_accounts SET owner_id = NULL`)).rejects.toThrow(/append-only/);
      await expect(t.dataSource.query(`DELETE FROM ledger_accounts`)).rejects.toThrow(/append-only/);
    });

    it('refuses an unbalanced entry in code, writing nothing', async () => {
      const causeId = randomUUID();
      const lines: PostingLine[] = commissionLines(conversion(affiliate.id, 1000, 700)).map((l, i) => (i === 0 ? { ...l, amount: l.amount + 1 } : l));
      const error = await post({ kind: 'commission', causeType: 'conversion', causeId, lines }).catch((e) => e);
      expect(error).toBeInstanceOf(LedgerError);
      expect(error.code).toBe('unbalanced_entry');
      expect(await count(`SELECT count(*) FROM journal_entries WHERE cause_id = $1`, [causeId])).toBe(0);
    });

    it('refuses, at commit, an unbalanced entry written with raw SQL', async () => {
      const [margin] = await t.dataSource.query(`SELECT id FROM ledger_accounts WHERE type = 'network_margin' AND currency = 'USD'`);
      const causeId = randomUUID();
      const runner = t.dataSource.createQueryRunner();
      try {
        await runner.startTransaction();
        const [entry] = await runner.query(`INSERT INTO journal_entries (kind, cause_type, cause_id) VALUES ('adjustment', 'adjustment', $1) RETURNING id, kind, effective_at`, [
          causeId,
        ]);
        await runner.query(
          `INSERT INTO journal_lines (entry_id, kind, effective_at, account_id, currency, amount) VALUES ($1, $2, $3, $4, 'USD', 100), ($1, $2, $3, $4, 'USD', -99)`,
          [entry.id, entry.kind, entry.effective_at, margin.id],
        );
        // Accepted until commit: the check is deferred so entries and lines can come in any order.
        await expect(runner.commitTransaction()).rejects.toThrow(/does not balance: its USD lines sum to 1$/);
      } finally {
        if (runner.isTransactionActive) await runner.rollbackTransaction();
        await runner.release();
      }
      expect(await count(`SELECT count(*) FROM journal_entries WHERE cause_id = $1`, [causeId])).toBe(0);
    });

    it('refuses, at commit, an entry without lines', async () => {
      const causeId = randomUUID();
      await expect(
        t.dataSource.transaction((m) => m.query(`INSERT INTO journal_entries (kind, cause_type, cause_id) VALUES ('adjustment', 'adjustment', $1)`, [causeId])),
      ).rejects.toThrow(/fewer than two lines/);
    });

    it('refuses a line in another currency than its account', async () => {
      const [margin] = await t.dataSource.query(`SELECT id FROM ledger_accounts WHERE type = 'network_margin' AND currency = 'USD'`);
      await expect(
        t.dataSource.transaction(async (m) => {
          const [entry] = await m.query(`INSERT INTO journal_entries (kind, cause_type, cause_id) VALUES ('adjustment', 'adjustment', $1) RETURNING id, kind, effective_at`, [
            randomUUID(),
          ]);
          await m.query(
            `INSERT INTO journal_lines (entry_id, kind, effective_at, account_id, currency, amount) VALUES ($1, $2, $3, $4, 'EUR', 100), ($1, $2, $3, $4, 'EUR', -100)`,
            [entry.id, entry.kind, entry.effective_at, margin.id],
          );
        }),
      ).rejects.toThrow(/journal_lines_account_currency/);
    });

    it('refuses an account owner that names no principal', async () => {
      const error = await postCommission(randomUUID(), randomUUID(), 10, 5).catch((e) => e);
      expect(error).toBeInstanceOf(LedgerError);
      expect(error.code).toBe('unknown_owner');
    });
  });

  describe('idempotency', () => {
    it('posts the same cause and kind once, however many times it is asked', async () => {
      const causeId = randomUUID();
      const first = await postCommission(causeId, otherAffiliate.id, 500, 400);
      const second = await postCommission(causeId, otherAffiliate.id, 500, 400);
      expect(first.created).toBe(true);
      expect(second).toEqual({ entryId: first.entryId, created: false });
      expect(await count(`SELECT count(*) FROM journal_lines WHERE entry_id = $1`, [first.entryId])).toBe(3);
      expect(await t.dataSource.transaction((m) => ledger.hasEntry(m, 'conversion', causeId, 'commission'))).toBe(true);
      expect(await t.dataSource.transaction((m) => ledger.hasEntry(m, 'conversion', causeId, 'approval'))).toBe(false);
      // Another kind for the same cause is another entry.
      const approval = await post({ kind: 'approval', causeType: 'conversion', causeId, lines: approvalLines(conversion(otherAffiliate.id, 500, 400)) });
      expect(approval.created).toBe(true);
    });

    it('creates one entry, and moves each balance once, for 20 concurrent posts of the same cause', async () => {
      const causeId = randomUUID();
      // A currency nobody used yet: the accounts are created concurrently too.
      const results = await Promise.all(Array.from({ length: 20 }, () => postCommission(causeId, idleAffiliate.id, 900, 600, 'CHF')));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.entryId)).size).toBe(1);
      expect(await count(`SELECT count(*) FROM journal_entries WHERE cause_id = $1`, [causeId])).toBe(1);
      expect(await count(`SELECT count(*) FROM ledger_accounts WHERE currency = 'CHF'`)).toBe(3);
      expect(await ledger.accountBalance(null, { type: 'affiliate_pending', ownerId: idleAffiliate.id, currency: 'CHF' })).toBe(-600);
      expect(await ledger.accountBalance(null, { type: 'advertiser_receivable', ownerId: advertiser.id, currency: 'CHF' })).toBe(900);
      expect(await ledger.accountBalance(null, { type: 'network_margin', currency: 'CHF' })).toBe(-300);
    });

    it('locks an affiliate’s accounts for a payout computed from its balances', async () => {
      const unlocked = await ledger.balances(null, affiliate.id, 'USD');
      let released = false;
      let second: Promise<boolean> = Promise.resolve(false);
      await t.dataSource.transaction(async (m) => {
        expect(await ledger.balances(m, affiliate.id, 'USD', { lock: true })).toEqual(unlocked);
        second = t.dataSource.transaction(async (m2) => {
          expect(await ledger.balances(m2, affiliate.id, 'USD', { lock: true })).toEqual(unlocked);
          return released;
        });
        await new Promise((resolve) => setTimeout(resolve, 200));
        released = true;
      });
      // The second reader got the accounts only once the first transaction had ended.
      expect(await second).toBe(true);
    });

    it('keeps concurrent postings on shared accounts from losing updates', async () => {
      const before = await ledger.accountBalance(null, { type: 'network_margin', currency: 'USD' });
      await Promise.all(Array.from({ length: 20 }, (_, i) => postCommission(randomUUID(), i % 2 ? affiliate.id : otherAffiliate.id, 100, 60)));
      expect(await ledger.accountBalance(null, { type: 'network_margin', currency: 'USD' })).toBe(before - 20 * 40);
      expect((await verifyLedger(t.dataSource)).ok).toBe(true);
    });
  });

  describe('GET /v1/ledger/entries and /v1/ledger/accounts', () => {
    it.each(['entries', 'accounts'])('/v1/ledger/%s is open to admin and finance only', async (what) => {
      await t.http.get(`/v1/ledger/${what}`).set(auth(t.adminKey)).expect(200);
      await t.http.get(`/v1/ledger/${what}`).set(auth(finance.apiKey)).expect(200);
      const refused = await t.http.get(`/v1/ledger/${what}`).set(auth(advertiser.apiKey)).expect(403);
      expect(refused.body.error.code).toBe('forbidden');
      await t.http.get(`/v1/ledger/${what}`).set(auth(affiliate.apiKey)).expect(403);
      await t.http.get(`/v1/ledger/${what}`).expect(401);
    });

    it('lists entries with their signed lines, filtered by cause', async () => {
      const causeId = randomUUID();
      const { entryId } = await postCommission(causeId, affiliate.id, 1000, 700);
      const res = await t.http.get('/v1/ledger/entries').query({ causeType: 'conversion', causeId }).set(auth(finance.apiKey)).expect(200);
      expect(res.body.nextCursor).toBeNull();
      expect(res.body.data).toEqual([
        {
          id: entryId,
          kind: 'commission',
          causeType: 'conversion',
          causeId,
          memo: null,
          createdBy: null,
          effectiveAt: expect.any(String),
          createdAt: expect.any(String),
          lines: [
            { accountId: expect.any(String), accountType: 'advertiser_receivable', ownerId: advertiser.id, currency: 'USD', amount: 1000 },
            { accountId: expect.any(String), accountType: 'affiliate_pending', ownerId: affiliate.id, currency: 'USD', amount: -700 },
            { accountId: expect.any(String), accountType: 'network_margin', ownerId: null, currency: 'USD', amount: -300 },
          ],
        },
      ]);
    });

    it('filters by owner, account type, account, kind, currency and period, and pages by cursor', async () => {
      const get = async (query: Record<string, string | number>) =>
        (await t.http.get('/v1/ledger/entries').query(query).set(auth(t.adminKey)).expect(200)).body as {
          data: { id: string; kind: string; lines: { accountId: string; accountType: string; ownerId: string | null; currency: string }[] }[];
          nextCursor: string | null;
        };

      const eur = await get({ ownerId: affiliate.id, currency: 'EUR' });
      expect(eur.data).toHaveLength(1);
      expect(eur.data[0].lines.every((l) => l.currency === 'EUR')).toBe(true);

      const approvals = await get({ ownerId: affiliate.id, accountType: 'affiliate_available', kind: 'approval' });
      expect(approvals.data.length).toBeGreaterThanOrEqual(1);
      expect(approvals.data.every((e) => e.kind === 'approval' && e.lines.some((l) => l.ownerId === affiliate.id && l.accountType === 'affiliate_available'))).toBe(true);

      const accountId = approvals.data[0].lines.find((l) => l.accountType === 'affiliate_available')!.accountId;
      const onAccount = await get({ accountId });
      expect(onAccount.data.length).toBeGreaterThanOrEqual(1);
      expect(onAccount.data.every((e) => e.lines.some((l) => l.accountId === accountId))).toBe(true);

      expect((await get({ from: new Date(Date.now() + 60_000).toISOString() })).data).toEqual([]);
      expect((await get({ to: '2000-01-01T00:00:00Z' })).data).toEqual([]);

      const all = await get({ ownerId: affiliate.id, limit: 500 });
      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await get({ ownerId: affiliate.id, limit: 2, ...(cursor ? { cursor } : {}) });
        paged.push(...page.data.map((e) => e.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(paged).toEqual(all.data.map((e) => e.id));
      expect(new Set(paged).size).toBe(paged.length);
      expect(paged.length).toBeGreaterThan(2);
    });

    it.each([
      ['accountType', 'cash'],
      ['causeType', 'click'],
      ['currency', 'usd'],
      ['ownerId', 'not-an-id'],
      ['from', 'yesterday'],
      ['kind', 'DROP TABLE'],
      ['limit', '501'],
      ['cursor', 'garbage'],
      ['unknownFilter', 'x'],
    ])('answers 400 to %s=%s', async (key, value) => {
      const res = await t.http
        .get('/v1/ledger/entries')
        .query({ [key]: value })
        .set(auth(t.adminKey))
        .expect(400);
      expect(res.body.error.code).toMatch(/validation_failed|invalid_cursor/);
    });

    it('lists accounts with their signed balances, filtered', async () => {
      const res = await t.http.get('/v1/ledger/accounts').query({ ownerId: affiliate.id, currency: 'EUR' }).set(auth(finance.apiKey)).expect(200);
      expect(res.body.data).toEqual([{ id: expect.any(String), type: 'affiliate_pending', ownerId: affiliate.id, currency: 'EUR', balance: -50, createdAt: expect.any(String) }]);
      const margins = await t.http.get('/v1/ledger/accounts').query({ type: 'network_margin' }).set(auth(t.adminKey)).expect(200);
      expect(margins.body.data.map((a: { currency: string }) => a.currency).sort()).toEqual(['CHF', 'EUR', 'USD']);
      await t.http.get('/v1/ledger/accounts').query({ type: 'cash' }).set(auth(t.adminKey)).expect(400);
    });
  });

  describe('GET /v1/earnings', () => {
    const balancesOf = (key: string, query: Record<string, string> = {}) => t.http.get('/v1/earnings').query(query).set(auth(key));

    it('shows an affiliate its own balances per currency, positive, in minor units', async () => {
      const before = (await balancesOf(affiliate.apiKey)).body;
      expect(before.affiliateId).toBe(affiliate.id);
      const eur = before.balances.find((b: { currency: string }) => b.currency === 'EUR');
      expect(eur).toEqual({ currency: 'EUR', pending: 50, available: 0, paid: 0, clawback: 0 });
      const usd = before.balances.find((b: { currency: string }) => b.currency === 'USD');
      expect(usd).toMatchObject({ currency: 'USD', available: 700, paid: 0, clawback: 0 });
      expect(usd.pending).toBe(-(await ledger.accountBalance(null, { type: 'affiliate_pending', ownerId: affiliate.id, currency: 'USD' })));
      // Naming itself is the same as naming nobody; currency narrows.
      expect((await balancesOf(affiliate.apiKey, { affiliateId: affiliate.id.toUpperCase() })).body).toEqual(before);
      expect((await balancesOf(affiliate.apiKey, { currency: 'EUR' })).body).toEqual({ affiliateId: affiliate.id, balances: [eur], bonuses: [] });
    });

    it('answers an affiliate with nothing an empty list', async () => {
      const fresh = await createAffiliate(t);
      const res = await balancesOf(fresh.apiKey).expect(200);
      expect(res.body).toEqual({ affiliateId: fresh.id, balances: [], bonuses: [] });
    });

    it('answers 404 when an affiliate names another affiliate, exactly as for an id that names nobody', async () => {
      const foreign = await balancesOf(affiliate.apiKey, { affiliateId: otherAffiliate.id }).expect(404);
      const nobody = await balancesOf(affiliate.apiKey, { affiliateId: randomUUID() }).expect(404);
      expect(foreign.body).toEqual(nobody.body);
      expect(foreign.body.error.code).toBe('affiliate_not_found');
    });

    it('lets admin and finance read any affiliate they name', async () => {
      const own = (await balancesOf(otherAffiliate.apiKey)).body;
      expect((await balancesOf(t.adminKey, { affiliateId: otherAffiliate.id }).expect(200)).body).toEqual(own);
      expect((await balancesOf(finance.apiKey, { affiliateId: otherAffiliate.id }).expect(200)).body).toEqual(own);
    });

    it('requires admin and finance to name an existing affiliate', async () => {
      const missing = await balancesOf(finance.apiKey).expect(400);
      expect(missing.body.error.details).toEqual([{ field: 'affiliateId', message: 'is required for admin and finance' }]);
      expect((await balancesOf(t.adminKey, { affiliateId: randomUUID() }).expect(404)).body.error.code).toBe('affiliate_not_found');
      await balancesOf(t.adminKey, { affiliateId: advertiser.id }).expect(404);
      await balancesOf(t.adminKey, { affiliateId: 'nope' }).expect(400);
    });

    it('refuses advertisers and callers without a key', async () => {
      await balancesOf(advertiser.apiKey).expect(403);
      await balancesOf(advertiser.apiKey, { affiliateId: affiliate.id }).expect(403);
      await t.http.get('/v1/earnings').expect(401);
    });
  });

  describe('verifyLedger', () => {
    /** The first breach found, which a report names. */
    const breach = async (name: RegExp) => {
      const result = await verifyLedger(t.dataSource);
      expect(result.ok).toBe(false);
      const failed = result.checks.find((c) => !c.ok);
      expect(failed?.name).toMatch(name);
      return failed?.detail ?? '';
    };

    it('passes on a ledger written through the service', async () => {
      const result = await verifyLedger(t.dataSource);
      expect(result.checks.filter((c) => !c.ok)).toEqual([]);
      expect(result.ok).toBe(true);
      expect(result.checks.length).toBeGreaterThanOrEqual(8);
      expect(formatVerification(result).at(-1)).toMatch(/^ledger verified: \d+ checks passed$/);
    });

    it('finds and names a tampered cached balance', async () => {
      const [account] = await t.dataSource.query(`SELECT id, balance FROM ledger_accounts WHERE type = 'affiliate_available' AND owner_id = $1 AND currency = 'USD'`, [
        affiliate.id,
      ]);
      await t.dataSource.query(`UPDATE ledger_accounts SET balance = balance - 1 WHERE id = $1`, [account.id]);
      try {
        const detail = await breach(/cached balance/);
        expect(detail).toContain(account.id);
        expect(detail).toContain(`caches ${Number(account.balance) - 1} but its lines sum to ${account.balance}`);
        const report = formatVerification(await verifyLedger(t.dataSource));
        expect(report.at(-1)).toBe('ledger verification FAILED: every cached balance equals the sum of its lines');
        expect(report.some((line) => line.startsWith('✗ every cached balance') && line.includes(account.id))).toBe(true);
      } finally {
        await t.dataSource.query(`UPDATE ledger_accounts SET balance = $2 WHERE id = $1`, [account.id, account.balance]);
      }
      expect((await verifyLedger(t.dataSource)).ok).toBe(true);
    });

    it('finds an affiliate liability on the debit side, until a correcting entry fixes it', async () => {
      const owner = await createAffiliate(t);
      const wrong = await post({
        kind: 'adjustment',
        causeType: 'adjustment',
        causeId: randomUUID(),
        memo: 'a bug: debits an empty pending balance',
        lines: [
          { account: { type: 'affiliate_pending', ownerId: owner.id, currency: 'USD' }, amount: 100 },
          { account: { type: 'network_margin', currency: 'USD' }, amount: -100 },
        ],
      });
      expect(await breach(/wrong side/)).toMatch(new RegExp(`affiliate_pending of ${owner.id}, USD\\) has a balance of 100`));
      await post({
        kind: 'adjustment',
        causeType: 'adjustment',
        causeId: wrong.entryId,
        memo: 'correction',
        lines: [
          { account: { type: 'affiliate_pending', ownerId: owner.id, currency: 'USD' }, amount: -100 },
          { account: { type: 'network_margin', currency: 'USD' }, amount: 100 },
        ],
      });
      expect((await verifyLedger(t.dataSource)).ok).toBe(true);
    });

    it('runs extra checks on the same snapshot and survives one that throws', async () => {
      const conversionsAgree: LedgerCheck = async (m) => ({ name: 'conversions agree', ok: (await m.query('SELECT 1 AS one'))[0].one === 1 });
      const broken: LedgerCheck = async function brokenCheck(m) {
        await m.query('SELECT * FROM no_such_table');
        return { name: 'never', ok: true };
      };
      const result = await verifyLedger(t.dataSource, [conversionsAgree, broken]);
      expect(result.checks.slice(-2)).toEqual([
        { name: 'conversions agree', ok: true },
        { name: 'brokenCheck', ok: false, detail: expect.stringMatching(/could not run: .*no_such_table/) },
      ]);
      expect(result.ok).toBe(false);
      expect(result.checks.slice(0, -2).every((c) => c.ok)).toBe(true);
    });
  });

  describe('postMany', () => {
    const postMany = (inputs: PostingInput[]) => t.dataSource.transaction((m) => ledger.postMany(m, inputs));
    const commission = (causeId: string, affiliateId: string, revenue: number, payout: number, currency = 'USD'): PostingInput => ({
      kind: 'commission',
      causeType: 'conversion',
      causeId,
      lines: commissionLines(conversion(affiliateId, revenue, payout, currency)),
    });
    const entryCount = () => count(`SELECT count(*) FROM journal_entries`);
    let payee: PrincipalHandle;
    beforeAll(async () => {
      payee = await createAffiliate(t);
    });

    it('posts many balanced entries in mixed currencies, in order, moving each balance by its lines', async () => {
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      const before = await entryCount();
      const inputs: PostingInput[] = [
        commission(a, payee.id, 1000, 700),
        commission(b, payee.id, 90, 60, 'EUR'),
        { kind: 'approval', causeType: 'conversion', causeId: a, lines: approvalLines(conversion(payee.id, 1000, 700)) },
        // One entry in two currencies, each balanced.
        {
          kind: 'fx_fix',
          causeType: 'adjustment',
          causeId: c,
          memo: 'two currencies',
          lines: [
            { account: { type: 'network_margin', currency: 'USD' }, amount: 5 },
            { account: { type: 'affiliate_pending', ownerId: payee.id, currency: 'USD' }, amount: -5 },
            { account: { type: 'network_margin', currency: 'EUR' }, amount: 3 },
            { account: { type: 'affiliate_pending', ownerId: payee.id, currency: 'EUR' }, amount: -3 },
          ],
        },
      ];
      const results = await postMany(inputs);
      expect(results.map((r) => r.created)).toEqual([true, true, true, true]);
      expect(await entryCount()).toBe(before + 4);
      for (const [i, input] of inputs.entries()) {
        const [row] = await t.dataSource.query(`SELECT cause_id, kind, memo FROM journal_entries WHERE id = $1`, [results[i].entryId]);
        expect(row).toEqual({ cause_id: input.causeId, kind: input.kind, memo: input.memo ?? null });
      }
      const unbalanced = await count(`SELECT count(*) FROM (SELECT 1 FROM journal_lines WHERE entry_id = ANY($1::uuid[]) GROUP BY entry_id, currency HAVING sum(amount) <> 0) x`, [
        results.map((r) => r.entryId),
      ]);
      expect(unbalanced).toBe(0);
      expect(await ledger.balances(null, payee.id)).toEqual([
        { currency: 'EUR', pending: 63, available: 0, paid: 0, clawback: 0 },
        { currency: 'USD', pending: 5, available: 700, paid: 0, clawback: 0 },
      ]);
      expect((await verifyLedger(t.dataSource)).ok).toBe(true);

      // The same batch again posts nothing and answers the same entries.
      const again = await postMany(inputs);
      expect(again).toEqual(results.map((r) => ({ entryId: r.entryId, created: false })));
      expect(await entryCount()).toBe(before + 4);
      expect((await ledger.balances(null, payee.id)).find((x) => x.currency === 'USD')).toMatchObject({ pending: 5, available: 700 });
    });

    it('posts only the new entries of a batch that includes already-posted ones', async () => {
      const old = randomUUID();
      const first = await post(commission(old, payee.id, 400, 300));
      const before = await ledger.accountBalance(null, { type: 'affiliate_pending', ownerId: payee.id, currency: 'USD' });
      const [fresh1, fresh2] = [randomUUID(), randomUUID()];
      const results = await postMany([commission(fresh1, payee.id, 200, 100), commission(old, payee.id, 400, 300), commission(fresh2, payee.id, 50, 20)]);
      expect(results.map((r) => r.created)).toEqual([true, false, true]);
      expect(results[1].entryId).toBe(first.entryId);
      expect(await ledger.accountBalance(null, { type: 'affiliate_pending', ownerId: payee.id, currency: 'USD' })).toBe(before - 120);
      expect(await count(`SELECT count(*) FROM journal_entries WHERE cause_id = $1`, [old])).toBe(1);
      expect((await verifyLedger(t.dataSource)).ok).toBe(true);
    });

    it('refuses the whole batch, writing nothing, when one entry is wrong or repeated', async () => {
      const before = await entryCount();
      const good = commission(randomUUID(), payee.id, 10, 5);
      const unbalanced: PostingInput = {
        ...commission(randomUUID(), payee.id, 10, 5),
        lines: [
          { account: { type: 'network_margin', currency: 'USD' }, amount: 1 },
          { account: { type: 'network_margin', currency: 'USD' }, amount: 2 },
        ],
      };
      await expect(postMany([good, unbalanced])).rejects.toBeInstanceOf(LedgerError);
      await expect(postMany([good, { ...good }])).rejects.toThrow(/twice/);
      expect(await entryCount()).toBe(before);
      expect(await postMany([])).toEqual([]);
    });
  });
});
