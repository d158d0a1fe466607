import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The double-entry ledger: accounts with a cached balance, append-only journal entries and
 * their signed lines (debit positive, credit negative). The database itself refuses what must
 * never happen: an entry that does not balance per currency (checked at commit), a line in
 * another currency than its account, and any UPDATE, DELETE or TRUNCATE of the journal.
 * Timestamps keep milliseconds, as JavaScript dates do, so page cursors and the lines' copy of
 * effective_at survive a round trip through the application exactly.
 */
export class Ledger1764000000300 implements MigrationInterface {
  name = 'Ledger1764000000300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ledger_accounts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        type text NOT NULL CHECK (type IN ('affiliate_pending', 'affiliate_available', 'affiliate_clawback',
                                           'advertiser_receivable', 'network_margin', 'stripe_clearing')),
        owner_id uuid REFERENCES principals(id),
        currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        balance bigint NOT NULL DEFAULT 0,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT ledger_accounts_owner_matches_type CHECK ((type IN ('network_margin', 'stripe_clearing')) = (owner_id IS NULL)),
        -- Target of the lines' (account_id, currency) key: a line cannot differ from its account's currency.
        CONSTRAINT ledger_accounts_id_currency UNIQUE (id, currency)
      )`);
    // One account per (type, owner, currency); the network's own accounts have no owner.
    await q.query(`
      CREATE UNIQUE INDEX ledger_accounts_identity
        ON ledger_accounts (type, (COALESCE(owner_id, '00000000-0000-0000-0000-000000000000'::uuid)), currency)`);
    await q.query(`CREATE INDEX ledger_accounts_owner ON ledger_accounts (owner_id, currency) WHERE owner_id IS NOT NULL`);
    await q.query(`CREATE INDEX ledger_accounts_created ON ledger_accounts (created_at DESC, id DESC)`);

    await q.query(`
      CREATE TABLE journal_entries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        kind text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,63}$'),
        cause_type text NOT NULL CHECK (cause_type IN ('conversion', 'payout', 'invoice', 'adjustment')),
        cause_id text NOT NULL CHECK (length(cause_id) BETWEEN 1 AND 200),
        memo text CHECK (length(memo) <= 2000),
        created_by uuid REFERENCES principals(id),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        effective_at timestamptz(3) NOT NULL DEFAULT now(),
        -- Posting the same thing twice is impossible, whatever the callers do.
        CONSTRAINT journal_entries_cause UNIQUE (cause_type, cause_id, kind),
        -- Target of the lines' copy of kind and effective_at (see journal_lines).
        CONSTRAINT journal_entries_id_kind_effective UNIQUE (id, kind, effective_at)
      )`);
    await q.query(`CREATE INDEX journal_entries_created ON journal_entries (created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX journal_entries_effective ON journal_entries (effective_at)`);

    // kind and effective_at are copies of the entry's, enforced by the composite key, so balances
    // by period and paid totals read one index instead of joining every line to its entry.
    await q.query(`
      CREATE TABLE journal_lines (
        id bigserial PRIMARY KEY,
        entry_id uuid NOT NULL,
        kind text NOT NULL,
        effective_at timestamptz(3) NOT NULL,
        account_id uuid NOT NULL,
        currency char(3) NOT NULL,
        amount bigint NOT NULL CHECK (amount <> 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT journal_lines_entry FOREIGN KEY (entry_id, kind, effective_at) REFERENCES journal_entries (id, kind, effective_at),
        CONSTRAINT journal_lines_account_currency FOREIGN KEY (account_id, currency) REFERENCES ledger_accounts (id, currency)
      )`);
    await q.query(`CREATE INDEX journal_lines_entry ON journal_lines (entry_id)`);
    await q.query(`CREATE INDEX journal_lines_account_period ON journal_lines (account_id, effective_at) INCLUDE (amount)`);
    await q.query(`
      CREATE INDEX journal_lines_account_payouts ON journal_lines (account_id) INCLUDE (amount)
        WHERE kind IN ('payout', 'payout_reversal')`);

    await q.query(`
      CREATE FUNCTION ledger_assert_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        entry uuid;
        unbalanced record;
      BEGIN
        IF TG_TABLE_NAME = 'journal_entries' THEN
          entry := NEW.id;
          IF (SELECT count(*) FROM journal_lines WHERE entry_id = entry) < 2 THEN
            RAISE EXCEPTION 'journal entry % has fewer than two lines', entry
              USING ERRCODE = 'check_violation', CONSTRAINT = 'journal_entry_balanced';
          END IF;
        ELSE
          entry := NEW.entry_id;
        END IF;
        SELECT currency, sum(amount) AS total INTO unbalanced
          FROM journal_lines WHERE entry_id = entry
          GROUP BY currency HAVING sum(amount) <> 0 LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'journal entry % does not balance: its % lines sum to %', entry, unbalanced.currency, unbalanced.total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'journal_entry_balanced';
        END IF;
        RETURN NULL;
      END $$`);
    // Deferred to commit, so a transaction may write an entry and its lines in any order.
    for (const table of ['journal_entries', 'journal_lines']) {
      await q.query(`
        CREATE CONSTRAINT TRIGGER ${table}_balanced AFTER INSERT ON ${table}
          DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_assert_entry_balanced()`);
    }

    await q.query(`
      CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% on % refused: the ledger is append-only; post a correcting entry instead', TG_OP, TG_TABLE_NAME
          USING ERRCODE = 'restrict_violation';
      END $$`);
    // Statement-level, so even an UPDATE or DELETE that matches no row is refused.
    for (const table of ['journal_entries', 'journal_lines']) {
      await q.query(`
        CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ${table}
          FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()`);
    }
    // An account keeps its identity for ever; only its cached balance moves.
    await q.query(`
      CREATE TRIGGER ledger_accounts_fixed BEFORE UPDATE OF id, type, owner_id, currency OR DELETE OR TRUNCATE ON ledger_accounts
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS journal_lines`);
    await q.query(`DROP TABLE IF EXISTS journal_entries`);
    await q.query(`DROP TABLE IF EXISTS ledger_accounts`);
    await q.query(`DROP FUNCTION IF EXISTS ledger_refuse_change()`);
    await q.query(`DROP FUNCTION IF EXISTS ledger_assert_entry_balanced()`);
  }
}
