import { MoneyError, formatMinorUnits, isCurrency, sumMinor } from '../../../common/money';

/** `payout_returned`: a whole payout came back (transfer failed or fully reversed); `payout_reversed`: Stripe reversed part of its transfer. */
export type StatementLineType = 'conversion' | 'reversal' | 'clawback' | 'payout' | 'payout_returned' | 'payout_reversed' | 'adjustment' | 'bonus' | 'bonus_clawback';

export interface StatementLine {
  at: Date;
  type: StatementLineType;
  offerName: string | null;
  goal: string | null;
  txnId: string | null;
  /** The advertiser's sale amount in minor units, for percentage offers. */
  saleAmount: number | null;
  /** Signed minor units: + earned, − reversed/paid. */
  amount: number;
  status: string | null;
  /** An external reference, e.g. the Stripe transfer id `tr_…` of a payout. */
  reference: string | null;
}

export interface StatementTotals {
  earned: number;
  reversed: number;
  clawbacks: number;
  paid: number;
  adjustments: number;
  /** Bonuses earned, net of bonuses clawed back. */
  bonuses: number;
}

export interface CurrencySection {
  currency: string;
  opening: number;
  closing: number;
  totals: StatementTotals;
  lines: StatementLine[];
}

export interface StatementModel {
  affiliate: { id: string; name: string; email: string };
  network: { name: string };
  /** Half-open: `from` is included, `to` is not; `timezone` is an IANA name such as `Europe/Berlin`. */
  period: { from: Date; to: Date; timezone: string };
  generatedAt: Date;
  sections: CurrencySection[];
}

/** Which line types each total adds up; every line type feeds exactly one total. */
export const TOTAL_LINE_TYPES: Readonly<Record<keyof StatementTotals, readonly StatementLineType[]>> = {
  earned: ['conversion'],
  reversed: ['reversal'],
  clawbacks: ['clawback'],
  paid: ['payout', 'payout_returned', 'payout_reversed'],
  adjustments: ['adjustment'],
  bonuses: ['bonus', 'bonus_clawback'],
};

const TOTAL_KEYS = Object.keys(TOTAL_LINE_TYPES) as (keyof StatementTotals)[];
const LINE_TYPES = new Set<string>(Object.values(TOTAL_LINE_TYPES).flat());

/** A statement that does not add up is a bug upstream; it must never reach an affiliate. */
export class StatementDoesNotAddUpError extends Error {
  override readonly name = 'StatementDoesNotAddUpError';
}

/** Exact totals of `lines` by kind, as the data layer should fill `CurrencySection.totals`. */
export function totalsOfLines(lines: readonly StatementLine[]): StatementTotals {
  const entries = TOTAL_KEYS.map((key) => {
    const types = TOTAL_LINE_TYPES[key];
    return [key, sumMinor(lines.filter((line) => types.includes(line.type)).map((line) => line.amount))];
  });
  return Object.fromEntries(entries) as StatementTotals;
}

/**
 * Null when the section adds up to the minor unit: opening + Σ lines = closing and each total
 * equals the sum of its line types; otherwise a message naming every difference.
 */
export function checkAddsUp(section: CurrencySection): string | null {
  let problems: string[];
  try {
    problems = addUpProblems(section);
  } catch (err) {
    if (!(err instanceof MoneyError)) throw err;
    problems = [err.message];
  }
  return problems.length === 0 ? null : `${section.currency}: ${problems.join('; ')}`;
}

/** Throws StatementDoesNotAddUpError naming every section that does not add up. */
export function assertAddsUp(model: StatementModel): void {
  const messages = model.sections.map(checkAddsUp).filter((message) => message !== null);
  if (messages.length > 0) {
    throw new StatementDoesNotAddUpError(`statement for affiliate ${model.affiliate.id}: ${messages.join(' | ')}`);
  }
}

function addUpProblems(section: CurrencySection): string[] {
  if (!isCurrency(section.currency)) return ['unknown currency'];
  const unknown = section.lines.find((line) => !LINE_TYPES.has(line.type));
  if (unknown) return [`unknown line type ${JSON.stringify(unknown.type)}`];
  const money = (amount: number) => formatMinorUnits(amount, section.currency);
  const problems: string[] = [];
  const activity = sumMinor(section.lines.map((line) => line.amount));
  const expectedClosing = sumMinor([section.opening, activity]);
  if (expectedClosing !== section.closing) {
    problems.push(`closing ${money(section.closing)} ≠ opening ${money(section.opening)} + lines ${money(activity)} = ${money(expectedClosing)}`);
  }
  const sums = totalsOfLines(section.lines);
  for (const key of TOTAL_KEYS) {
    if (sums[key] !== section.totals[key]) {
      const types = TOTAL_LINE_TYPES[key].join(' + ');
      problems.push(`${key} ${money(section.totals[key])} ≠ sum of ${types} lines ${money(sums[key])}`);
    }
  }
  return problems;
}
