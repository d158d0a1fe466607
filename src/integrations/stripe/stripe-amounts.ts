import { currencyExponent, isCurrency, MoneyError } from '../../common/money';

/**
 * How Stripe represents each currency it supports, where that differs from ISO 4217 minor units
 * (https://docs.stripe.com/currencies, "Zero-decimal currencies", "Three-decimal currencies" and
 * "Special cases"). Everything in the ledger and the API stays in ISO minor units; amounts are
 * converted here, at the Stripe boundary only.
 *
 * - `exponent`: Stripe's decimals when they are not ISO's. MGA is two-decimal in ISO but
 *   zero-decimal at Stripe; ISK and UGX are zero-decimal in ISO but two-decimal at Stripe (kept
 *   for backwards compatibility: ISK 500 is sent as 50000).
 * - `step`: every amount must be a multiple of it, in Stripe's units: the three-decimal
 *   currencies must end in 0, and ISK/UGX amounts must be whole units.
 * - `transferStep`: transfers and payouts only: HUF and TWD are two-decimal at Stripe, yet a
 *   transfer must be a whole number of forints or dollars.
 */
interface StripeCurrencyRule {
  exponent?: number;
  step?: number;
  transferStep?: number;
}

const SPECIAL: Readonly<Record<string, StripeCurrencyRule>> = {
  // Stripe's zero-decimal list; all but MGA are zero-decimal in ISO 4217 too.
  BIF: { exponent: 0 },
  CLP: { exponent: 0 },
  DJF: { exponent: 0 },
  GNF: { exponent: 0 },
  JPY: { exponent: 0 },
  KMF: { exponent: 0 },
  KRW: { exponent: 0 },
  MGA: { exponent: 0 },
  PYG: { exponent: 0 },
  RWF: { exponent: 0 },
  VND: { exponent: 0 },
  VUV: { exponent: 0 },
  XAF: { exponent: 0 },
  XOF: { exponent: 0 },
  XPF: { exponent: 0 },
  ISK: { exponent: 2, step: 100 },
  UGX: { exponent: 2, step: 100 },
  HUF: { transferStep: 100 },
  TWD: { transferStep: 100 },
  BHD: { step: 10 },
  JOD: { step: 10 },
  KWD: { step: 10 },
  OMR: { step: 10 },
  TND: { step: 10 },
};

/**
 * The ISO currencies Stripe can charge and transfer (its presentment currencies). Absent, and
 * refused before any money moves: fund codes, currencies under sanctions or without a Stripe
 * market (IQD, LYD, IRR, KPW, SYP, CUP, SDG, SSP, ERN, TMT, VED, VES, ZWG, BTN, MRU, STN, …).
 */
const SUPPORTED = new Set(
  (
    'AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BWP BYN BZD CAD CDF CHF CLP CNY ' +
    'COP CRC CVE CZK DJF DKK DOP DZD EGP ETB EUR FJD FKP GBP GEL GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR ISK ' +
    'JMD JOD JPY KES KGS KHR KMF KRW KWD KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MUR MVR MWK MXN MYR ' +
    'MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SEK SGD SHP SLE SOS ' +
    'SRD SZL THB TJS TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW'
  ).split(' '),
);

export type StripeAmountUse = 'charge' | 'transfer';

export interface StripeAmount {
  /** What Stripe is sent, in its own representation. */
  amount: number;
  /** ISO minor units Stripe cannot carry; they stay where they are (the affiliate's balance). */
  remainder: number;
}

/** True when Stripe can move money in this ISO currency. */
export function isStripeCurrency(currency: string): boolean {
  return isCurrency(currency) && SUPPORTED.has(currency);
}

function ruleOf(currency: string): Required<StripeCurrencyRule> {
  if (!isStripeCurrency(currency)) throw new MoneyError('unknown_currency', `Stripe cannot move money in ${JSON.stringify(currency)}`);
  const special = SPECIAL[currency] ?? {};
  const step = special.step ?? 1;
  return { exponent: special.exponent ?? currencyExponent(currency), step, transferStep: special.transferStep ?? step };
}

/** Powers of ten between ISO's and Stripe's decimals: amounts are multiplied up, or divided down. */
function scales(currency: string): { up: number; down: number; rule: Required<StripeCurrencyRule> } {
  const rule = ruleOf(currency);
  const shift = rule.exponent - currencyExponent(currency);
  return { up: 10 ** Math.max(shift, 0), down: 10 ** Math.max(-shift, 0), rule };
}

function assertMinor(amount: number, name: string): void {
  if (!Number.isSafeInteger(amount) || amount < 0) throw new MoneyError('invalid_amount', `${name} must be a non-negative integer, got ${amount}`);
}

/**
 * ISO minor units → what Stripe is sent, rounded DOWN to what Stripe can carry for this use; the
 * rest is the remainder. `fromStripeAmount(amount) + remainder === minor`.
 */
export function toStripeAmount(minor: number, currency: string, use: StripeAmountUse = 'charge'): StripeAmount {
  assertMinor(minor, 'amount');
  const { up, down, rule } = scales(currency);
  const step = use === 'transfer' ? rule.transferStep : rule.step;
  const raw = Math.floor(minor / down) * up;
  if (!Number.isSafeInteger(raw)) throw new MoneyError('amount_out_of_range', `${minor} ${currency} is beyond what Stripe can be sent`);
  const amount = raw - (raw % step);
  return { amount, remainder: minor - fromStripeAmount(amount, currency) };
}

/** What Stripe reports (in its representation) → ISO minor units; a fraction ISO cannot hold is dropped. */
export function fromStripeAmount(amount: number, currency: string): number {
  assertMinor(amount, 'Stripe amount');
  const { up, down } = scales(currency);
  return Math.floor(amount / up) * down;
}

/** The part of `minor` Stripe can carry for this use, in ISO minor units. */
export function carriableMinor(minor: number, currency: string, use: StripeAmountUse = 'charge'): number {
  return minor - toStripeAmount(minor, currency, use).remainder;
}

/** The smallest positive amount Stripe can carry for this use, in ISO minor units (every remainder is below it). */
export function stripeUnit(currency: string, use: StripeAmountUse = 'charge'): number {
  const { up, down, rule } = scales(currency);
  const step = use === 'transfer' ? rule.transferStep : rule.step;
  return Math.max(1, Math.ceil(step / up)) * down;
}
