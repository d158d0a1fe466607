import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { entityOwners, OwnershipRules, ownershipViolations, readSources, SourceFile } from './table-ownership';

/*
 * Each aggregate owns its tables (ARCHITECTURE.md): every write to a table — INSERT, UPDATE,
 * DELETE, a row lock — runs in the module that owns it, through its repository
 * (ConversionsRepository, LedgerRepository …). Another module may READ a foreign table only
 * from a read model: statements, reports, the ledger checks and reconciliation read across
 * aggregates by nature, and never write them. What still crosses is listed below, each with why.
 */

const ROOT = join(__dirname, '..', '..');
const SOURCES = readSources(join(ROOT, 'src'), ROOT);

/** Tables without an entity class of their own. */
const OWNERS_WITHOUT_ENTITY: Record<string, string> = {
  clicks_default: 'tracking',
  postback_deliveries: 'postbacks',
  report_click_details: 'reports',
  report_click_hours: 'reports',
  report_conversion_deltas: 'reports',
  report_conversion_details: 'reports',
  report_conversion_hours: 'reports',
  report_conversion_keys: 'reports',
};

const NO_PRINCIPALS_REPOSITORY = 'reads who a principal is (role, status, name, threshold); until the accounts module has its repository';

const RULES: OwnershipRules = {
  owners: new Map([...entityOwners(SOURCES), ...Object.entries(OWNERS_WITHOUT_ENTITY)]),
  shared: {
    app_settings: 'a key-value store of generated secrets: each module reads and writes only its own key',
  },
  readModels: {
    'src/modules/statements/statement-sql.ts': 'commission statements: the ledger lines with the conversions, payouts and invoices behind them',
    'src/modules/tracking/rollup-sql.ts': 'report rollups are built from clicks and conversions',
    'src/modules/reports/report-query.ts': 'reports name the offers they count',
    'src/modules/ledger/ledger.verify.ts': 'ledger:verify checks invariants across the ledger and its owners',
    'src/modules/commissions/commission.checks.ts': 'checks between conversions and their ledger entries (also the sweeper’s look-up)',
    'src/modules/billing/billing.checks.ts': 'checks between invoices, their conversions and their ledger entries',
    'src/modules/reconciliation/reconciliation.service.ts': 'compares payouts, invoices and their ledger entries with Stripe',
    'src/demo/demo.ts': 'the demo prints the figures of the network it built',
    'src/modules/quality/quality-facts.ts':
      'the conversion signals read the click, the customer’s other conversions, the coupon’s uses and the affiliate’s own e-mails and sign-in IPs',
    'src/modules/quality/quality-report.ts': 'the quality report counts clicks and conversions with their reasons',
  },
  allowed: [
    { file: 'src/cli.ts', table: 'principals', write: true, reason: 'admin:create-key bootstraps the first admin outside the app (no Nest container)' },
    { file: 'src/cli.ts', table: 'api_keys', write: true, reason: 'admin:create-key, as above' },
    {
      file: 'src/modules/conversions/conversions.service.ts',
      table: 'offers',
      write: true,
      reason: 'a row lock only: serialises the conversions of a capped offer so counts cannot race past the cap',
    },
    {
      file: 'src/modules/conversions/conversions.service.ts',
      table: 'outbox',
      write: true,
      reason: 'the one-statement conversion write inserts the outbox rows OutboxService.enqueue would (the hot path)',
    },
    { file: 'src/modules/conversions/conversions.repository.ts', table: 'offers', write: false, reason: 'invoice tagging returns each result’s offer name for the invoice line' },
    { file: 'src/modules/conversions/conversions.repository.ts', table: 'invoice_credits', write: false, reason: 'reversed results of an invoice not credited yet' },
    { file: 'src/modules/conversions/offer-snapshots.ts', table: 'offers', write: false, reason: 'a conversion snapshots its offer; until the offers module has its repository' },
    { file: 'src/modules/conversions/offer-snapshots.ts', table: 'offer_goals', write: false, reason: 'as above, the goal' },
    { file: 'src/modules/conversions/offer-snapshots.ts', table: 'offer_access', write: false, reason: 'as above, the affiliate’s access' },
    { file: 'src/modules/conversions/offer-snapshots.ts', table: 'principals', write: false, reason: NO_PRINCIPALS_REPOSITORY },
    { file: 'src/modules/ledger/ledger.repository.ts', table: 'principals', write: false, reason: 'payout candidates: active affiliates and their payout threshold' },
    { file: 'src/modules/ledger/ledger.repository.ts', table: 'payout_accounts', write: false, reason: 'payout candidates: affiliates with payouts enabled' },
    { file: 'src/modules/ledger/ledger.service.ts', table: 'principals', write: false, reason: NO_PRINCIPALS_REPOSITORY },
    { file: 'src/modules/ledger/adjustments.service.ts', table: 'principals', write: false, reason: NO_PRINCIPALS_REPOSITORY },
    { file: 'src/modules/billing/billing.service.ts', table: 'principals', write: false, reason: NO_PRINCIPALS_REPOSITORY },
    { file: 'src/modules/offers/offers.service.ts', table: 'principals', write: false, reason: NO_PRINCIPALS_REPOSITORY },
    { file: 'src/modules/payouts/payout-accounts.service.ts', table: 'principals', write: false, reason: NO_PRINCIPALS_REPOSITORY },
    { file: 'src/modules/statements/statements.service.ts', table: 'principals', write: false, reason: NO_PRINCIPALS_REPOSITORY },
    { file: 'src/modules/portal/auth/sessions.service.ts', table: 'principals', write: false, reason: NO_PRINCIPALS_REPOSITORY },
    { file: 'src/modules/portal/auth/users.service.ts', table: 'principals', write: true, reason: 'creates the first admin principal at start-up; to go through AccountsService' },
    { file: 'src/modules/tracking/affiliate-offers.service.ts', table: 'principals', write: false, reason: NO_PRINCIPALS_REPOSITORY },
    { file: 'src/modules/tracking/links.service.ts', table: 'principals', write: false, reason: NO_PRINCIPALS_REPOSITORY },
    { file: 'src/modules/tracking/links.service.ts', table: 'offers', write: false, reason: 'a link checks its offer; until the offers module has its repository' },
    { file: 'src/modules/quality/appeals.service.ts', table: 'conversions', write: false, reason: 'open appeals are scoped by their conversion’s advertiser or affiliate' },
  ],
};

/** The violations `files` add to those of the real sources (so a planted case shows only its own). */
const added = (files: SourceFile[]) => {
  const before = new Set(ownershipViolations(SOURCES, RULES).violations);
  return ownershipViolations(files, RULES).violations.filter((v) => !before.has(v));
};

/** The sources with `text` planted as (or appended to) the file at `path`. */
const plant = (path: string, text: string): SourceFile[] => [
  ...SOURCES.filter((f) => f.path !== path),
  { path, text: [SOURCES.find((f) => f.path === path)?.text, text].filter(Boolean).join('\n') },
];

describe('each aggregate owns its tables', () => {
  it('no module writes, locks or (outside a read model) reads a table another module owns', () => {
    const { violations } = ownershipViolations(SOURCES, RULES);
    expect(violations).toEqual([]);
  });

  it('every allowance still matches something (a moved query takes its allowance with it)', () => {
    expect(ownershipViolations(SOURCES, RULES).stale).toEqual([]);
  });

  it('every table the migrations create has an owner', () => {
    const dir = join(ROOT, 'migrations');
    const created = readdirSync(dir).flatMap((f) =>
      [...readFileSync(join(dir, f), 'utf8').matchAll(/CREATE (?:UNLOGGED )?TABLE (?:IF NOT EXISTS )?"?([a-z_]+)/g)].map((m) => m[1]),
    );
    const orphans = [...new Set(created)].filter((t) => t !== 'migrations' && !RULES.owners.has(t) && !(t in RULES.shared));
    expect(orphans).toEqual([]);
  });

  it('catches a payout module moving conversions by hand, in SQL or through the entity', () => {
    const sql = plant('src/modules/payouts/planted.ts', "await manager.query(`UPDATE conversions SET status = 'approved' WHERE payout_id = $1`, [id]);");
    expect(added(sql)).toEqual(['src/modules/payouts/planted.ts:1 writes conversions (owned by conversions)']);
    const entity = plant(
      'src/modules/payouts/planted.ts',
      "import { Conversion } from '../conversions/conversion.entity';\nawait manager.update(Conversion, { payoutId: id }, { status: 'approved' });",
    );
    expect(added(entity)).toEqual(['src/modules/payouts/planted.ts:2 writes conversions (owned by conversions)']);
  });

  it('catches a lock on a foreign table and a read outside a read model, but lets a read model read', () => {
    const lock = plant('src/modules/billing/planted.ts', 'const q = `SELECT id FROM journal_entries e\n WHERE e.kind = $1 ORDER BY id FOR UPDATE`;');
    expect(added(lock)).toEqual(['src/modules/billing/planted.ts:1 writes journal_entries (owned by ledger)']);
    const read = plant('src/modules/postbacks/planted.ts', 'const q = `SELECT 1 FROM ledger_accounts a JOIN conversions c ON c.affiliate_id = a.owner_id`;');
    expect(added(read)).toEqual([
      'src/modules/postbacks/planted.ts:1 reads ledger_accounts (owned by ledger)',
      'src/modules/postbacks/planted.ts:1 reads conversions (owned by conversions)',
    ]);
    expect(added(plant('src/modules/statements/statement-sql.ts', 'const q = `SELECT 1 FROM payouts p`;'))).toEqual([]);
  });

  it('catches a read model that writes', () => {
    const files = plant('src/modules/tracking/rollup-sql.ts', 'const q = `UPDATE conversions SET status = $1`;');
    expect(added(files)).toEqual([expect.stringMatching(/^src\/modules\/tracking\/rollup-sql.ts:\d+ writes conversions \(owned by conversions\)$/)]);
  });
});
