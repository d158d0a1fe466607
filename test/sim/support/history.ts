import fc from 'fast-check';
import type { DbFault } from './db-faults';

/**
 * A history is plain data: every choice the simulation makes is in it, drawn from the seed.
 * Steps name what they act on by index into what exists when they run (modulo its length), so
 * any sub-history — what shrinking tries — is still a valid history.
 */
export const CURRENCIES = ['USD', 'EUR', 'JPY'] as const;
export type Currency = (typeof CURRENCIES)[number];
export type Goal = 'sale' | 'lead';
/** A transaction id: a new one, or a repeat of the nth one this advertiser used before. */
export type TxnRef = 'new' | number;
export type StripeFaultKind = 'error500' | 'rate_limit' | 'reset_after_commit' | 'insufficient_funds' | 'timeout';
export type StripeFaultTarget = 'transfers' | 'invoices' | 'any';

export type Step =
  | { k: 'click'; link: number }
  | { k: 'postback'; click: number; goal: Goal; txn: TxnRef; amount: number; copies: number }
  | { k: 'coupon'; coupon: number; goal: Goal; txn: TxnRef; amount: number; copies: number }
  | { k: 'pixel'; click: number; goal: Goal; txn: TxnRef; amount: number }
  | { k: 'approve' | 'reject' | 'reverse'; conv: number }
  | { k: 'reversePostback'; txn: number }
  | { k: 'approveDue'; days: number }
  | { k: 'payoutRun'; currency: Currency }
  | { k: 'invoiceRun'; currency: Currency | null }
  | { k: 'reverseTransfer'; transfer: number; part: number }
  | { k: 'payInvoice'; invoice: number }
  | { k: 'deliver'; event: number; keep: boolean }
  | { k: 'deliverAll'; order: number[] }
  | { k: 'stripeFault'; kind: StripeFaultKind; target: StripeFaultTarget; times: number }
  | { k: 'forgetIdempotencyKeys' }
  | ({ k: 'dbFault' } & DbFault)
  | { k: 'restart' }
  /** Finance tops up the prepaid advertiser's USD funds. */
  | { k: 'topUp'; amount: number }
  /** Two steps at once, the second `delayMs` after the first, before anything drains. */
  | { k: 'race'; first: Step; second: Step; delayMs: number };

const goal = fc.constantFrom<Goal>('sale', 'lead');
const txn: fc.Arbitrary<TxnRef> = fc.oneof({ weight: 3, arbitrary: fc.constant<TxnRef>('new') }, { weight: 1, arbitrary: fc.nat(20) });
const amount = fc.integer({ min: 100, max: 40_000 });
const idx = fc.nat(50);

const RACERS = new Set([
  'postback',
  'coupon',
  'pixel',
  'approve',
  'reject',
  'reverse',
  'reversePostback',
  'approveDue',
  'payoutRun',
  'invoiceRun',
  'reverseTransfer',
  'payInvoice',
  'deliver',
  'topUp',
]);

/** Weighted toward the money flow: results first, then what moves money and what breaks it. */
const singleStepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant('click' as const), link: idx }) },
  { weight: 10, arbitrary: fc.record({ k: fc.constant('postback' as const), click: idx, goal, txn, amount, copies: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('coupon' as const), coupon: idx, goal, txn, amount, copies: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('pixel' as const), click: idx, goal, txn, amount }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('approve' as const), conv: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('reject' as const), conv: idx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('reverse' as const), conv: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('reversePostback' as const), txn: idx }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('approveDue' as const), days: fc.constantFrom(0, 2, 31) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('payoutRun' as const), currency: fc.constantFrom(...CURRENCIES) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('invoiceRun' as const), currency: fc.constantFrom<Currency | null>(null, ...CURRENCIES) }) },
  // part: 0 reverses the whole transfer, 1..3 that many quarters of it.
  { weight: 2, arbitrary: fc.record({ k: fc.constant('reverseTransfer' as const), transfer: idx, part: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('payInvoice' as const), invoice: idx }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('deliver' as const), event: idx, keep: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('deliverAll' as const), order: fc.array(fc.nat(1000), { maxLength: 12 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('stripeFault' as const),
      kind: fc.constantFrom<StripeFaultKind>('error500', 'rate_limit', 'reset_after_commit', 'insufficient_funds', 'timeout'),
      target: fc.constantFrom<StripeFaultTarget>('transfers', 'invoices', 'any'),
      times: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'forgetIdempotencyKeys' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('dbFault' as const),
      scope: fc.constantFrom('any' as const, 'write' as const, 'money' as const, 'money' as const, 'commit' as const),
      when: fc.constantFrom('before' as const, 'after' as const),
      nth: fc.integer({ min: 1, max: 20 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'restart' as const }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('topUp' as const), amount: fc.integer({ min: 100, max: 3000 }) }) },
);
const racer = singleStepArb.filter((s) => RACERS.has(s.k));

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: singleStepArb },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('race' as const), first: racer, second: racer, delayMs: fc.nat(40) }) },
);

// size 'max': fast-check draws its first runs small, and each seed is exactly one run.
export const historyArb = (maxSteps: number) => fc.array(stepArb, { minLength: Math.ceil(maxSteps / 2), maxLength: maxSteps, size: 'max' });

export function describeStep(s: Step): string {
  if (s.k === 'race') return `race(${describeStep(s.first)} | ${s.delayMs} ms later ${describeStep(s.second)})`;
  const { k, ...rest } = s;
  const args = Object.entries(rest).map(([key, v]) => `${key}=${Array.isArray(v) ? `[${v.join(',')}]` : String(v)}`);
  return `${k}(${args.join(' ')})`;
}
