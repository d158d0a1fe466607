import fc from 'fast-check';
import { MAX_MINOR_UNITS } from '../../common/money';
import { LedgerError, LedgerErrorCode } from './ledger.errors';
import {
  adjustmentLines,
  approvalLines,
  checkPosting,
  commissionLines,
  invoicePaidLines,
  negateLines,
  payoutFailedLines,
  payoutLines,
  PostingInput,
  PostingLine,
  reversalLines,
  ReversibleStatus,
} from './ledger.postings';

const AFF = '11111111-1111-4111-8111-111111111111';
const ADV = '22222222-2222-4222-8222-222222222222';

/** Lines as `type amount` strings, for readable expectations. */
const show = (lines: PostingLine[]) => lines.map((l) => `${l.account.type}${l.account.ownerId ? `:${l.account.ownerId.slice(0, 2)}` : ''} ${l.amount}`);

/** Per-account net of several postings, zero accounts dropped. */
function net(...postings: PostingLine[][]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const l of postings.flat()) {
    const key = `${l.account.type}:${l.account.ownerId ?? '-'}:${l.account.currency}`;
    totals[key] = (totals[key] ?? 0) + l.amount;
    if (totals[key] === 0) delete totals[key];
  }
  return totals;
}

function codeOf(fn: () => unknown): LedgerErrorCode | 'no error' {
  try {
    fn();
  } catch (error) {
    if (error instanceof LedgerError) return error.code as LedgerErrorCode;
    throw error;
  }
  return 'no error';
}

const conv = (revenue: number, payout: number, currency = 'USD') => ({ affiliateId: AFF, advertiserId: ADV, currency, revenue, payout });
const entry = (lines: PostingLine[], overrides: Partial<PostingInput> = {}): PostingInput => ({ kind: 'commission', causeType: 'conversion', causeId: 'c1', lines, ...overrides });

describe('posting patterns', () => {
  it('commission: Dr receivable R, Cr pending P, Cr margin R − P', () => {
    expect(show(commissionLines(conv(1000, 700)))).toEqual(['advertiser_receivable:22 1000', 'affiliate_pending:11 -700', 'network_margin -300']);
  });

  it('commission omits zero lines and debits a negative margin', () => {
    expect(show(commissionLines(conv(500, 500)))).toEqual(['advertiser_receivable:22 500', 'affiliate_pending:11 -500']);
    expect(show(commissionLines(conv(0, 400)))).toEqual(['affiliate_pending:11 -400', 'network_margin 400']);
    expect(show(commissionLines(conv(300, 0)))).toEqual(['advertiser_receivable:22 300', 'network_margin -300']);
    expect(commissionLines(conv(0, 0))).toEqual([]);
  });

  it('approval moves P from pending to available', () => {
    expect(show(approvalLines(conv(1000, 700)))).toEqual(['affiliate_pending:11 700', 'affiliate_available:11 -700']);
    expect(approvalLines(conv(1000, 0))).toEqual([]);
  });

  it('reversal from pending is the exact negation of the commission', () => {
    expect(reversalLines(conv(1000, 700), 'pending')).toEqual(negateLines(commissionLines(conv(1000, 700))));
    expect(net(commissionLines(conv(1000, 700)), reversalLines(conv(1000, 700), 'pending'))).toEqual({});
  });

  it('reversal from approved takes P back from available', () => {
    expect(show(reversalLines(conv(1000, 700), 'approved'))).toEqual(['advertiser_receivable:22 -1000', 'affiliate_available:11 700', 'network_margin 300']);
    const c = conv(1000, 700);
    expect(net(commissionLines(c), approvalLines(c), reversalLines(c, 'approved'))).toEqual({});
  });

  it('reversal from paid puts P on the clawback account', () => {
    expect(show(reversalLines(conv(1000, 700), 'paid'))).toEqual(['advertiser_receivable:22 -1000', 'affiliate_clawback:11 700', 'network_margin 300']);
  });

  it('refuses to reverse from a status that holds no money', () => {
    expect(codeOf(() => reversalLines(conv(1, 1), 'rejected' as ReversibleStatus))).toBe('invalid_entry');
  });

  it('payout: Dr available A + C, Cr clawback C, Cr stripe A; the failure is its negation', () => {
    const aff = { affiliateId: AFF, currency: 'EUR' };
    expect(show(payoutLines(aff, 5000, 700))).toEqual(['affiliate_available:11 5700', 'affiliate_clawback:11 -700', 'stripe_clearing -5000']);
    expect(show(payoutLines(aff, 5000))).toEqual(['affiliate_available:11 5000', 'stripe_clearing -5000']);
    expect(payoutFailedLines(aff, 5000, 700)).toEqual(negateLines(payoutLines(aff, 5000, 700)));
    expect(payoutLines(aff, 5000, 700).every((l) => l.account.currency === 'EUR')).toBe(true);
  });

  it('a payout netting a clawback, after a paid conversion was reversed, leaves clawback at zero', () => {
    const aff = { affiliateId: AFF, currency: 'USD' };
    const first = conv(1000, 700);
    const second = conv(2000, 1500);
    const totals = net(
      commissionLines(first),
      approvalLines(first),
      payoutLines(aff, 700),
      reversalLines(first, 'paid'),
      commissionLines(second),
      approvalLines(second),
      payoutLines(aff, 800, 700),
    );
    expect(totals).toEqual({ [`advertiser_receivable:${ADV}:USD`]: 2000, 'network_margin:-:USD': -500, 'stripe_clearing:-:USD': -1500 });
  });

  it('invoice paid: Dr stripe clearing, Cr receivable', () => {
    expect(show(invoicePaidLines({ advertiserId: ADV, currency: 'USD' }, 1234))).toEqual(['stripe_clearing 1234', 'advertiser_receivable:22 -1234']);
  });

  it.each([-1, 1.5, Number.NaN, MAX_MINOR_UNITS + 1, Number.MAX_SAFE_INTEGER + 2])('refuses the amount %p', (bad) => {
    expect(codeOf(() => commissionLines(conv(bad, 1)))).toBe('invalid_amount');
    expect(codeOf(() => commissionLines(conv(1, bad)))).toBe('invalid_amount');
    expect(codeOf(() => payoutLines({ affiliateId: AFF, currency: 'USD' }, bad))).toBe('invalid_amount');
    expect(codeOf(() => payoutLines({ affiliateId: AFF, currency: 'USD' }, 1, bad))).toBe('invalid_amount');
    expect(codeOf(() => invoicePaidLines({ advertiserId: ADV, currency: 'USD' }, bad))).toBe('invalid_amount');
  });

  it('every pattern balances and passes the posting checks, for any amounts', () => {
    const amount = fc.integer({ min: 0, max: MAX_MINOR_UNITS });
    const status = fc.constantFrom<ReversibleStatus>('pending', 'approved', 'paid');
    const currency = fc.constantFrom('USD', 'JPY', 'KWD');
    fc.assert(
      fc.property(amount, amount, status, currency, (r, p, from, cur) => {
        const c = conv(r, p, cur);
        const aff = { affiliateId: AFF, currency: cur };
        for (const lines of [
          commissionLines(c),
          approvalLines(c),
          reversalLines(c, from),
          payoutLines(aff, r, p),
          payoutFailedLines(aff, r, p),
          invoicePaidLines({ advertiserId: ADV, currency: cur }, r),
        ]) {
          expect(lines.reduce((sum, l) => sum + BigInt(l.amount), 0n)).toBe(0n);
          expect(lines.every((l) => l.amount !== 0 && Number.isSafeInteger(l.amount))).toBe(true);
          if (lines.length >= 2) expect(checkPosting(entry(lines))).toHaveLength(lines.length);
          else expect(lines).toEqual([]);
        }
      }),
    );
  });
});

describe('checkPosting', () => {
  const ok = commissionLines(conv(1000, 700));

  it('accepts a balanced entry and lower-cases owner ids', () => {
    const upper = ok.map((l) => ({ ...l, account: { ...l.account, ownerId: l.account.ownerId?.toUpperCase() ?? null } }));
    expect(checkPosting(entry(upper)).map((l) => l.ownerId)).toEqual([ADV, AFF, null]);
  });

  it('balances per currency, not in total', () => {
    const mixed: PostingLine[] = [
      { account: { type: 'network_margin', currency: 'USD' }, amount: 100 },
      { account: { type: 'stripe_clearing', currency: 'EUR' }, amount: -100 },
    ];
    expect(codeOf(() => checkPosting(entry(mixed)))).toBe('unbalanced_entry');
  });

  it.each<[string, PostingLine[] | ((l: PostingLine[]) => PostingLine[]), Partial<PostingInput>, LedgerErrorCode]>([
    ['one cent off', (l) => [...l.slice(0, 2), { ...l[2], amount: l[2].amount + 1 }], {}, LedgerErrorCode.UnbalancedEntry],
    ['a zero line', (l) => [...l, { account: { type: 'network_margin', currency: 'USD' }, amount: 0 }], {}, LedgerErrorCode.InvalidAmount],
    [
      'a fractional amount',
      [
        { account: { type: 'network_margin', currency: 'USD' }, amount: 0.5 },
        { account: { type: 'stripe_clearing', currency: 'USD' }, amount: -0.5 },
      ],
      {},
      LedgerErrorCode.InvalidAmount,
    ],
    [
      'an unsafe amount',
      [
        { account: { type: 'network_margin', currency: 'USD' }, amount: 2 ** 53 },
        { account: { type: 'stripe_clearing', currency: 'USD' }, amount: -(2 ** 53) },
      ],
      {},
      LedgerErrorCode.InvalidAmount,
    ],
    ['a single line', (l) => l.slice(0, 1), {}, LedgerErrorCode.TooFewLines],
    ['no lines', [], {}, LedgerErrorCode.TooFewLines],
    ['an unknown currency', (l) => l.map((x) => ({ ...x, account: { ...x.account, currency: 'usd' } })), {}, LedgerErrorCode.InvalidCurrency],
    [
      'an owner on the margin',
      (l) => l.map((x) => (x.account.type === 'network_margin' ? { ...x, account: { ...x.account, ownerId: AFF } } : x)),
      {},
      LedgerErrorCode.InvalidAccount,
    ],
    [
      'no owner on pending',
      (l) => l.map((x) => (x.account.type === 'affiliate_pending' ? { ...x, account: { ...x.account, ownerId: null } } : x)),
      {},
      LedgerErrorCode.InvalidAccount,
    ],
    ['an unknown account type', (l) => l.map((x, i) => (i === 0 ? { ...x, account: { ...x.account, type: 'cash' as never } } : x)), {}, LedgerErrorCode.InvalidAccount],
    ['a bad kind', (l) => l, { kind: 'Commission!' }, LedgerErrorCode.InvalidEntry],
    ['a bad cause type', (l) => l, { causeType: 'click' as never }, LedgerErrorCode.InvalidEntry],
    ['an empty cause id', (l) => l, { causeId: '' }, LedgerErrorCode.InvalidEntry],
    ['an invalid date', (l) => l, { effectiveAt: new Date('nope') }, LedgerErrorCode.InvalidEntry],
    ['a backdated entry (a closed period never changes)', (l) => l, { effectiveAt: new Date(Date.now() - 86_400_000) }, LedgerErrorCode.InvalidEntry],
  ])('refuses %s', (_, lines, overrides, code) => {
    const built = typeof lines === 'function' ? lines(ok) : lines;
    expect(codeOf(() => checkPosting(entry(built, overrides)))).toBe(code);
  });
});

describe('corrections of an affiliate balance', () => {
  const party = { affiliateId: AFF, currency: 'USD' };
  const sumOf = (lines: PostingLine[], type: string) => lines.filter((l) => l.account.type === type).reduce((a, l) => a + l.amount, 0);

  it('accepts an effective time from now on', () => {
    expect(() =>
      checkPosting({ kind: 'adjustment', causeType: 'adjustment', causeId: 'x', effectiveAt: new Date(Date.now() + 1000), lines: adjustmentLines(party, 100, 0) }),
    ).not.toThrow();
  });

  it('never takes available below zero: the rest of a debit, or of a reversal from approved, is a clawback', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1_000_000, max: 1_000_000 }).filter((n) => n !== 0),
        fc.integer({ min: 0, max: 1_000_000 }),
        (amount, available) => {
          const lines = adjustmentLines(party, amount, available);
          checkPosting({ kind: 'adjustment', causeType: 'adjustment', causeId: 'x', lines });
          expect(available - sumOf(lines, 'affiliate_available')).toBeGreaterThanOrEqual(0);
          expect(sumOf(lines, 'affiliate_available') + sumOf(lines, 'affiliate_clawback')).toBe(-amount);
          expect(sumOf(lines, 'affiliate_clawback')).toBeGreaterThanOrEqual(0);
        },
      ),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 200_000 }), (payout, available) => {
        const lines = reversalLines({ affiliateId: AFF, advertiserId: ADV, currency: 'USD', revenue: payout * 2, payout }, 'approved', available);
        if (!lines.length) return;
        checkPosting({ kind: 'reversal', causeType: 'conversion', causeId: 'x', lines });
        expect(sumOf(lines, 'affiliate_available')).toBe(Math.min(payout, available));
        expect(sumOf(lines, 'affiliate_clawback')).toBe(payout - Math.min(payout, available));
      }),
    );
  });
});
