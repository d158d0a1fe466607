import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { entityOwners, outsideRepositories, OwnershipRules, ownershipViolations, readSources, SourceFile } from './table-ownership';

/*
 * Each aggregate owns its tables (ARCHITECTURE.md): every write to a table — INSERT, UPDATE,
 * DELETE, a row lock — runs in the module that owns it, through its repository
 * (ConversionsRepository, LedgerRepository, PrincipalsRepository, OffersRepository, PayoutsRepository,
 * InvoicesRepository …). Another module may READ a foreign table only
 * from a read model: statements, reports, the ledger checks and reconciliation read across
 * aggregates by nature, and never write them. What still crosses is listed below, each with why.
 */

const ROOT = join(__dirname, '..', '..');
const SOURCES = readSources(join(ROOT, 'src'), ROOT);

/** Tables without an entity class of their own. */
const OWNERS_WITHOUT_ENTITY: Record<string, string> = {
  clicks_default: 'tracking',
  postback_deliveries: 'partner-postbacks',
  report_click_details: 'reports',
  report_click_hours: 'reports',
  report_conversion_deltas: 'reports',
  report_conversion_details: 'reports',
  report_conversion_hours: 'reports',
  report_conversion_keys: 'reports',
};

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
    'src/modules/programs/programs.checks.ts': 'checks between bonus awards (and prepaid fundings) and their ledger entries',
    'src/modules/reconciliation/reconciliation.service.ts': 'compares payouts, invoices and their ledger entries with Stripe',
    'src/demo/demo.ts': 'the demo prints the figures of the network it built',
    'src/modules/quality/quality-facts.ts':
      'the conversion signals read the click, the customer’s other conversions, the coupon’s uses and the affiliate’s own e-mails and sign-in IPs',
    'src/modules/quality/quality-report.ts': 'the quality report counts clicks and conversions with their reasons',
  },
  allowed: [
    {
      file: 'src/modules/conversions/conversions.service.ts',
      table: 'outbox',
      write: true,
      reason: 'the one-statement conversion write inserts the outbox rows OutboxRepository.insert would (the hot path: one round trip per conversion)',
    },
    {
      file: 'src/modules/tracking/tracking.repository.ts',
      table: 'principals',
      write: false,
      reason: 'a redirect reads its link with the affiliate’s status, in one statement (the click path)',
    },
    {
      file: 'src/modules/tracking/tracking.repository.ts',
      table: 'offers',
      write: false,
      reason: 'a redirect reads its link with the offer’s URLs and status, in one statement (the click path)',
    },
    { file: 'src/modules/quality/appeals.service.ts', table: 'conversions', write: false, reason: 'open appeals are scoped by their conversion’s advertiser or affiliate' },
  ],
};

/** Tables whose every query, their owner's included, sits in one repository file (read models may read them). */
const REPOSITORIES: Record<string, string> = {
  tracking_links: 'src/modules/tracking/tracking.repository.ts',
  clicks: 'src/modules/tracking/tracking.repository.ts',
  clicks_default: 'src/modules/tracking/tracking.repository.ts',
  coupons: 'src/modules/tracking/tracking.repository.ts',
  outbox: 'src/queue/outbox/outbox.repository.ts',
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

  it('links, clicks, coupons and the outbox are queried only in their repository', () => {
    expect(outsideRepositories(SOURCES, RULES, REPOSITORIES)).toEqual([]);
  });

  it('catches a tracking service that queries clicks itself', () => {
    const planted = plant('src/modules/tracking/clicks.service.ts', 'const q = `SELECT id FROM clicks WHERE link_id = $1`;');
    expect(outsideRepositories(planted, RULES, REPOSITORIES)).toEqual([
      expect.stringMatching(/^src\/modules\/tracking\/clicks.service.ts:\d+ reads clicks \(its repository: src\/modules\/tracking\/tracking.repository.ts\)$/),
    ]);
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
    const read = plant('src/modules/partner-postbacks/planted.ts', 'const q = `SELECT 1 FROM ledger_accounts a JOIN conversions c ON c.affiliate_id = a.owner_id`;');
    expect(added(read)).toEqual([
      'src/modules/partner-postbacks/planted.ts:1 reads ledger_accounts (owned by ledger)',
      'src/modules/partner-postbacks/planted.ts:1 reads conversions (owned by conversions)',
    ]);
    expect(added(plant('src/modules/statements/statement-sql.ts', 'const q = `SELECT 1 FROM payouts p`;'))).toEqual([]);
  });

  it('catches another module asking the principals table (or an offer, a payout, an invoice) instead of its owner’s repository', () => {
    const sql = plant('src/modules/billing/planted.ts', 'const q = `SELECT name, email FROM principals WHERE id = $1`;');
    expect(added(sql)).toEqual(['src/modules/billing/planted.ts:1 reads principals (owned by principals)']);
    const entity = plant(
      'src/modules/tracking/planted.ts',
      "import { Offer } from '../offers/offer.entity';\nconst offer = await manager.findOneBy(Offer, { id });\nconst q = `SELECT 1 FROM payouts p JOIN invoices i ON i.id = p.id`;",
    );
    expect(added(entity)).toEqual([
      'src/modules/tracking/planted.ts:3 reads payouts (owned by payouts)',
      'src/modules/tracking/planted.ts:3 reads invoices (owned by billing)',
      'src/modules/tracking/planted.ts:2 reads offers (owned by offers)',
    ]);
  });

  it('catches a read model that writes', () => {
    const files = plant('src/modules/tracking/rollup-sql.ts', 'const q = `UPDATE conversions SET status = $1`;');
    expect(added(files)).toEqual([expect.stringMatching(/^src\/modules\/tracking\/rollup-sql.ts:\d+ writes conversions \(owned by conversions\)$/)]);
  });
});
