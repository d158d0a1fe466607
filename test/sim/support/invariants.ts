import { PayoutRails } from '../../../src/modules/payouts/rails/payout-rails';
import { COMMISSION_CHECKS } from '../../../src/modules/commissions/commission.checks';
import { LedgerService } from '../../../src/modules/ledger/ledger.service';
import { formatVerification, verifyLedger } from '../../../src/modules/ledger/ledger.verify';
import { PROGRAMS_CHECKS } from '../../../src/modules/programs/programs.checks';
import { StripeClient } from '../../../src/integrations/stripe/stripe.client';
import { formatReconciliation, ReconciliationService } from '../../../src/modules/reconciliation/reconciliation.service';
import type { World } from './world';

/** A step broke an invariant: a finding, with where it happened. */
export class InvariantViolation extends Error {
  /** The 1-based step after which it broke; one past the last for the end of the history. */
  step = 0;
}

/**
 * `busy`: webhooks are held back, so Stripe and the ledger may legitimately disagree for now;
 * `quiet`: nothing is held, they must agree; `final`: also every result billed exactly once.
 */
export type Phase = 'busy' | 'quiet' | 'final';

type Check = { name: string; phases: Phase[]; run: (w: World) => Promise<string | null> };
const ALL: Phase[] = ['busy', 'quiet', 'final'];

const rowsOf = <T>(w: World, sql: string, params: unknown[] = []): Promise<T[]> => w.t.dataSource.query(sql, params);
const shown = (items: string[]) => (items.length ? items.slice(0, 5).join('; ') + (items.length > 5 ? `; and ${items.length - 5} more` : '') : null);

const CHECKS: Check[] = [
  {
    name: 'the ledger verifies (ledger:verify, with the conversion and program checks: bonuses, prepaid funds)',
    phases: ALL,
    async run(w) {
      const result = await verifyLedger(w.t.dataSource, [...COMMISSION_CHECKS, ...PROGRAMS_CHECKS]);
      return result.ok
        ? null
        : formatVerification(result)
            .filter((l) => !l.startsWith('✓'))
            .join('\n');
    },
  },
  {
    name: 'each affiliate’s balances: none negative, and pending + available + paid − clawback = the payouts of its standing conversions and its bonuses not clawed back',
    phases: ALL,
    async run(w) {
      const ledger = w.t.app.get(LedgerService);
      const earned = await rowsOf<{ affiliate_id: string; currency: string; total: string }>(
        w,
        `SELECT affiliate_id, currency, sum(total)::text AS total FROM (
           SELECT affiliate_id, currency, payout AS total FROM conversions WHERE status IN ('pending', 'approved', 'paid') AND affiliate_id IS NOT NULL
           UNION ALL SELECT affiliate_id, currency, amount FROM bonus_awards WHERE status = 'earned') e GROUP BY 1, 2`,
      );
      const bad: string[] = [];
      for (const [i, a] of w.affiliates.entries()) {
        const balances = await ledger.balances(null, a.id);
        for (const currency of new Set([...balances.map((b) => b.currency), ...earned.filter((e) => e.affiliate_id === a.id).map((e) => e.currency)])) {
          const b = balances.find((x) => x.currency === currency) ?? { pending: 0, available: 0, paid: 0, clawback: 0 };
          const want = Number(earned.find((e) => e.affiliate_id === a.id && e.currency === currency)?.total ?? 0);
          if (b.pending < 0 || b.available < 0 || b.clawback < 0) bad.push(`affiliate ${i} ${currency}: ${JSON.stringify(b)} has a negative balance`);
          if (b.pending + b.available + b.paid - b.clawback !== want)
            bad.push(`affiliate ${i} ${currency}: ledger ${JSON.stringify(b)} sums to ${b.pending + b.available + b.paid - b.clawback}, its standing conversions pay ${want}`);
        }
      }
      return shown(bad);
    },
  },
  {
    name: 'no payout is paid twice (Stripe transfers per payout ≤ 1)',
    phases: ALL,
    async run(w) {
      const per = new Map<string, string[]>();
      for (const tr of w.stripe.transfers()) {
        const id = tr.metadata?.payout_id ?? tr.transfer_group ?? '(none)';
        per.set(id, [...(per.get(id) ?? []), tr.id]);
      }
      return shown([...per].filter(([, trs]) => trs.length > 1).map(([p, trs]) => `payout ${p}: transfers ${trs.join(', ')}`));
    },
  },
  {
    name: 'one conversion per advertiser, goal and txn_id in each space (authenticated, pixel), and the authenticated report’s amount wins over the pixel',
    phases: ALL,
    async run(w) {
      const bad: string[] = [];
      // The pixel has a txn space of its own: an authenticated report of the same txn supersedes it.
      const dup = await rowsOf<{ txn_id: string; goal_key: string; pixel: boolean; n: number }>(
        w,
        `SELECT txn_id, goal_key, source = 'pixel' AS pixel, count(*)::int AS n FROM conversions GROUP BY advertiser_id, goal_key, txn_id, source = 'pixel' HAVING count(*) > 1`,
      );
      for (const d of dup) bad.push(`${d.txn_id} (${d.goal_key}) has ${d.n} ${d.pixel ? 'pixel' : 'authenticated'} conversions`);
      for (const e of w.expect.firstAuthenticatedAmount.values()) {
        const [row] = await rowsOf<{ id: string; sale_amount: string | null; source: string }>(
          w,
          `SELECT id, sale_amount::text, source FROM conversions WHERE advertiser_id = $1 AND goal_key = $2 AND txn_id = $3 AND source <> 'pixel'`,
          [e.advertiserId, e.goal, e.txnId],
        );
        if (!row) bad.push(`${e.txnId}: the postback was answered but no conversion is stored`);
        else if (Number(row.sale_amount) !== e.amount)
          bad.push(`${e.txnId}: conversion ${row.id} (source ${row.source}) has sale amount ${row.sale_amount}, the advertiser's postback said ${e.amount}`);
      }
      return shown(bad);
    },
  },
  {
    name: 'one transaction earns once: no pixel conversion stays accepted beside an authenticated one of its txn id',
    phases: ['final'],
    async run(w) {
      const rows = await rowsOf<{ txn_id: string; pixel_id: string; other_id: string }>(
        w,
        `SELECT p.txn_id, p.id AS pixel_id, a.id AS other_id FROM conversions p
           JOIN conversions a ON a.advertiser_id = p.advertiser_id AND a.goal_key = p.goal_key AND a.txn_id = p.txn_id AND a.source <> 'pixel'
          WHERE p.source = 'pixel' AND p.status IN ('pending', 'approved', 'paid') AND a.status IN ('pending', 'approved', 'paid')`,
      );
      return shown(rows.map((r) => `${r.txn_id}: pixel conversion ${r.pixel_id} and conversion ${r.other_id} both earn`));
    },
  },
  {
    name: 'every invoice bills exactly the results marked with it (one snapshot), each result on one invoice at most',
    phases: ALL,
    async run(w) {
      const rows = await rowsOf<{ id: string; amount: string; conversions: number; billed: string; n: number }>(
        w,
        `SELECT i.id, i.amount::text, i.conversions,
                (coalesce(sum(c.revenue), 0) + (SELECT coalesce(sum(b.amount), 0) FROM bonus_awards b WHERE b.invoice_id = i.id))::text AS billed, count(c.id)::int AS n
           FROM invoices i LEFT JOIN conversions c ON c.invoice_id = i.id
          WHERE i.status <> 'void' GROUP BY i.id`,
      );
      return shown(
        rows
          .filter((r) => Number(r.amount) !== Number(r.billed) || r.conversions !== r.n)
          .map((r) => `invoice ${r.id} charges ${r.amount} for ${r.conversions} results, the ${r.n} results marked with it have revenue ${r.billed}`),
      );
    },
  },
  {
    name: 'Stripe and the ledger agree (reconcile finds no difference)',
    phases: ['quiet', 'final'],
    async run(w) {
      // The service of `npm run reconcile`, on the app's own connections.
      const result = await new ReconciliationService(w.t.dataSource, w.t.app.get(StripeClient), w.t.app.get(PayoutRails)).reconcile();
      return result.differences.length ? formatReconciliation(result).join('\n') : null;
    },
  },
  {
    name: 'per affiliate and currency, Stripe’s transfers net of reversals = what the ledger says was paid',
    phases: ['quiet', 'final'],
    async run(w) {
      const ledger = w.t.app.get(LedgerService);
      const owed = await rowsOf<{ affiliate_id: string; currency: string; amount: string }>(
        w,
        `SELECT affiliate_id, currency, sum(amount)::text AS amount FROM payouts WHERE status IN ('pending', 'transferring') GROUP BY 1, 2`,
      );
      const transfers = w.stripe.transfers();
      const bad: string[] = [];
      for (const [i, a] of w.affiliates.entries()) {
        const balances = await ledger.balances(null, a.id);
        const currencies = new Set([...balances.map((b) => b.currency), ...transfers.filter((tr) => tr.destination === a.accountId).map((tr) => tr.currency.toUpperCase())]);
        for (const currency of currencies) {
          const net = transfers.filter((tr) => tr.destination === a.accountId && tr.currency.toUpperCase() === currency).reduce((s, tr) => s + tr.amount - tr.amount_reversed, 0);
          const paid = balances.find((b) => b.currency === currency)?.paid ?? 0;
          const inFlight = Number(owed.find((o) => o.affiliate_id === a.id && o.currency === currency)?.amount ?? 0);
          if (net !== paid - inFlight)
            bad.push(
              `affiliate ${i} ${currency}: Stripe holds ${net} transferred net of reversals, the ledger says ${paid} paid${inFlight ? ` of which ${inFlight} not yet transferred` : ''}`,
            );
        }
      }
      return shown(bad);
    },
  },
  {
    name: 'once drained, no payout is left half-done (pending or transferring)',
    phases: ['final'],
    async run(w) {
      const rows = await rowsOf<{ id: string; status: string }>(w, `SELECT id, status FROM payouts WHERE status IN ('pending', 'transferring')`);
      return shown(rows.map((r) => `payout ${r.id} is ${r.status}`));
    },
  },
  {
    name: 'after an invoice run, every approved or paid result is billed exactly once, on an issued invoice',
    phases: ['final'],
    async run(w) {
      const rows = await rowsOf<{ id: string; status: string; invoice: string | null; invoice_status: string | null }>(
        w,
        `SELECT c.id, c.status, c.invoice_id AS invoice, i.status AS invoice_status FROM conversions c LEFT JOIN invoices i ON i.id = c.invoice_id
          WHERE c.status IN ('approved', 'paid') AND c.revenue > 0 AND NOT c.prepaid AND (i.id IS NULL OR i.status NOT IN ('open', 'paid') OR i.stripe_invoice_id IS NULL)`,
      );
      return shown(rows.map((r) => `conversion ${r.id} (${r.status}) ${r.invoice ? `is on invoice ${r.invoice} (${r.invoice_status}), not issued` : 'was never billed'}`));
    },
  },
  {
    name: 'per advertiser and currency, the invoices charge the revenue of the billed results still standing (a reversed billed result is credited)',
    phases: ['final'],
    async run(w) {
      const rows = await rowsOf<{ advertiser_id: string; currency: string; charged: string; standing: string }>(
        w,
        // What the invoices charge net of their credit notes (a reversed billed result is credited on
        // the invoice that billed it); void and failed invoices released their results and charge nothing.
        `SELECT i.advertiser_id, i.currency,
                (sum(i.amount) - coalesce(sum((SELECT sum(k.amount) FROM invoice_credits k WHERE k.invoice_id = i.id)), 0))::text AS charged,
                ((SELECT coalesce(sum(c.revenue), 0) FROM conversions c JOIN invoices j ON j.id = c.invoice_id
                  WHERE j.advertiser_id = i.advertiser_id AND j.currency = i.currency AND j.status NOT IN ('void', 'failed') AND c.status IN ('approved', 'paid'))
                 -- Billed bonuses still earned (one clawed back after billing is credited on its invoice: README).
                 + (SELECT coalesce(sum(b.amount), 0) FROM bonus_awards b JOIN invoices j ON j.id = b.invoice_id
                  WHERE j.advertiser_id = i.advertiser_id AND j.currency = i.currency AND j.status NOT IN ('void', 'failed') AND b.status = 'earned'))::text AS standing
           FROM invoices i WHERE i.status NOT IN ('void', 'failed') GROUP BY 1, 2`,
      );
      return shown(
        rows
          .filter((r) => r.charged !== r.standing)
          .map(
            (r) =>
              `advertiser ${w.advertisers.findIndex((a) => a.id === r.advertiser_id)} ${r.currency}: invoiced ${r.charged}, its billed results still standing have revenue ${r.standing}`,
          ),
      );
    },
  },
  {
    name: 'prepaid funds: funded = reserved + spent + available, none negative, spent = the revenue of the approved prepaid results, and none approved while waiting for funds',
    phases: ALL,
    async run(w) {
      const ledger = w.t.app.get(LedgerService);
      const bad: string[] = [];
      for (const [i, adv] of w.advertisers.entries()) {
        const spent = await rowsOf<{ currency: string; total: string }>(
          w,
          `SELECT currency, sum(revenue)::text AS total FROM conversions WHERE advertiser_id = $1 AND prepaid AND status IN ('approved', 'paid') GROUP BY 1`,
          [adv.id],
        );
        const reserved = await rowsOf<{ currency: string; total: string }>(
          w,
          `SELECT currency, sum(revenue)::text AS total FROM conversions WHERE advertiser_id = $1 AND prepaid AND status = 'pending' AND hold IS NULL GROUP BY 1`,
          [adv.id],
        );
        for (const b of await ledger.funding(adv.id)) {
          if (b.funded !== b.reserved + b.spent + b.available) bad.push(`advertiser ${i} ${b.currency}: ${JSON.stringify(b)} does not add up`);
          if (b.available < 0 || b.reserved < 0 || b.spent < 0) bad.push(`advertiser ${i} ${b.currency}: ${JSON.stringify(b)} has a negative figure`);
          const wantSpent = Number(spent.find((s) => s.currency === b.currency)?.total ?? 0);
          const wantReserved = Number(reserved.find((s) => s.currency === b.currency)?.total ?? 0);
          if (b.spent !== wantSpent || b.reserved !== wantReserved)
            bad.push(`advertiser ${i} ${b.currency}: the ledger says spent ${b.spent}, reserved ${b.reserved}; its results say ${wantSpent}, ${wantReserved}`);
        }
      }
      const held = await rowsOf<{ id: string; status: string }>(w, `SELECT id, status FROM conversions WHERE hold = 'awaiting_funds' AND status IN ('approved', 'paid')`);
      bad.push(...held.map((r) => `conversion ${r.id} is ${r.status} while waiting for funds`));
      return shown(bad);
    },
  },
];

/** Runs every check of the phase; the first broken one is thrown as a finding. */
export async function checkInvariants(w: World, phase: Phase): Promise<void> {
  for (const check of CHECKS) {
    if (!check.phases.includes(phase)) continue;
    w.counters.checks++;
    const broken = await check.run(w);
    if (broken) throw new InvariantViolation(`invariant broken: ${check.name}\n${broken}`);
  }
}
