/** What the network owed the affiliate, per currency, just before $2 (and $3); currencies with activity or a balance only. */
export const BALANCES = `
  SELECT l.currency,
         (-coalesce(sum(l.amount) FILTER (WHERE l.created_at < $2), 0))::bigint AS opening,
         (-coalesce(sum(l.amount) FILTER (WHERE l.created_at < $3), 0))::bigint AS closing
    FROM journal_lines l JOIN ledger_accounts a ON a.id = l.account_id
   WHERE a.owner_id = $1 AND a.type IN ('affiliate_pending', 'affiliate_available', 'affiliate_clawback')
     AND ($4::char(3) IS NULL OR l.currency = $4)
   GROUP BY l.currency
  -- A currency with nothing owed and no line in the period has nothing to say.
  HAVING sum(l.amount) FILTER (WHERE l.created_at < $2) <> 0 OR sum(l.amount) FILTER (WHERE l.created_at < $3) <> 0
      OR count(*) FILTER (WHERE l.created_at >= $2 AND l.created_at < $3) > 0
   ORDER BY l.currency`;

/** Whether a text column holds a uuid as PostgreSQL writes one (so `::uuid` cannot fail on it). */
const uuidText = (expression: string) => `${expression} ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'`;

/** The affiliate's ($1) accounts in a currency ($2) that statements read: their ids, and which are clawback accounts. */
export const MOVEMENT_ACCOUNTS = `
  SELECT id, type = 'affiliate_clawback' AS clawback FROM ledger_accounts
   WHERE owner_id = $1 AND currency = $2 AND type IN ('affiliate_pending', 'affiliate_available', 'affiliate_clawback')
   ORDER BY id`;

/**
 * An affiliate's money movements as the ledger records them: one row per journal entry, with
 * the net change of what the network owes the affiliate in one currency (pending + available −
 * clawback, presented positive), with what a person needs to recognise it, in time order.
 * Approvals move money between the affiliate's own accounts and net to zero, so they are not
 * movements. Periods cut by the lines' time, as the balances do: an entry's own time is rounded
 * to the millisecond and may fall after its lines' near a boundary.
 *
 * The lines are summed per entry before anything is joined to them (a narrow key, and a plan
 * PostgreSQL may run in parallel when the query is not read through a cursor); one query, so the
 * movements are grouped once, however long the history. The lines are picked by the affiliate's
 * account ids ($1, from MOVEMENT_ACCOUNTS), not through a join on ledger_accounts: given the ids
 * as literals (the CSV's COPY), the planner counts the account's lines from its statistics
 * instead of guessing an average account's (a fraction of them for an affiliate with most of the
 * lines). Parameters: $1 the affiliate's account ids in the currency, $2 from, $3 to, $4 currency,
 * $5 its clawback account ids; for a period that has ended, $6 the affiliate (STATUS_AT_END).
 */
const movementRows = (ended: boolean) => `
    FROM (SELECT l.entry_id, (-sum(l.amount))::bigint AS amount, bool_or(l.account_id = ANY($5)) AS clawback
            FROM journal_lines l
           WHERE l.account_id = ANY($1) AND l.created_at >= $2 AND l.created_at < $3 AND l.currency = $4
           GROUP BY l.entry_id
          HAVING sum(l.amount) <> 0) m
    JOIN journal_entries e ON e.id = m.entry_id
    -- The casts are guarded by the cause type (other causes' ids need not be uuids), and let the
    -- joins use the primary keys instead of hashing every conversion of every affiliate.
    LEFT JOIN conversions c ON c.id = CASE WHEN e.cause_type = 'conversion' THEN e.cause_id::uuid END
    LEFT JOIN offers o ON o.id = c.offer_id
    LEFT JOIN payouts p ON p.id = CASE WHEN e.cause_type = 'payout' THEN split_part(e.cause_id, ':', 1)::uuid END
    -- An adjustment entry written by hand need not carry a uuid: cast only what reads as one. Joined
    -- on the key (a hash of the few adjustments), not as text (a sort of every movement to merge).
    LEFT JOIN adjustments adj ON adj.id = CASE WHEN e.cause_type = 'adjustment' AND ${uuidText('e.cause_id')} THEN e.cause_id::uuid END
    LEFT JOIN bonus_awards ba ON ba.id = CASE WHEN e.cause_type = 'bonus_award' AND ${uuidText('e.cause_id')} THEN e.cause_id::uuid END
    LEFT JOIN bonuses bn ON bn.id = ba.bonus_id${ended ? STATUS_AT_END : ''}
   ORDER BY e.created_at, e.id`;

const MOVEMENT_TYPE = `
         CASE e.kind
           WHEN 'commission' THEN 'conversion'
           WHEN 'reversal' THEN CASE WHEN m.clawback THEN 'clawback' ELSE 'reversal' END
           WHEN 'payout' THEN 'payout'
           -- A partial reversal of a transfer is keyed <payout id>:<reversal id>; the whole payout returned, by its id.
           WHEN 'payout_reversal' THEN CASE WHEN strpos(e.cause_id, ':') > 0 THEN 'payout_reversed' ELSE 'payout_returned' END
           WHEN 'bonus' THEN 'bonus'
           WHEN 'bonus_clawback' THEN 'bonus_clawback'
           ELSE 'adjustment'
         END`;

/**
 * A statement of a period that has ended never changes: a conversion's status is the one it had
 * at the period's end (its last event before $3), and a payout's transfer id shows only if the
 * transfer was made by then. An open period reads the current status, at no cost; so does a
 * conversion not updated since the period ended (a status change writes its event and stamps
 * updated_at in one transaction, so its last event before $3 is its status). A conversion
 * without any event, written by hand, keeps its own status.
 *
 * The events are read for the affiliate's ($6) conversions updated since, in one uncorrelated
 * join (STATUS_AT_END), not a subquery per movement: a plan node holding a correlated subquery
 * runs in the leader only, so every movement's cells would be computed there one by one, even
 * when the subquery never runs (about a third of a million-line export). A conversion's affiliate
 * never changes, and a movement's conversion is its affiliate's.
 */
const STATUS_AT_END = `
    LEFT JOIN (SELECT DISTINCT ON (ev.conversion_id) ev.conversion_id, ev.to_status
                 FROM conversions u JOIN conversion_events ev ON ev.conversion_id = u.id AND ev.created_at < $3
                WHERE u.affiliate_id = $6 AND u.created_at < $3 AND u.updated_at >= $3
                ORDER BY ev.conversion_id, ev.id DESC) ended ON ended.conversion_id = c.id`;
const movementStatus = (ended: boolean) => (ended ? `coalesce(ended.to_status, c.status)` : `c.status`);

/** A payout's reference is its transfer; an adjustment's, finance's reason; a bonus's, its program and period. */
const MOVEMENT_REFERENCE = `coalesce(CASE WHEN p.paid_at < $3 THEN p.external_id END, adj.reason, bn.name || ' ' || ba.period)`;

/** Movements of one currency ($4), read through a cursor: at as epoch milliseconds, then the parts of a StatementLine. */
export const movementLines = (ended: boolean) => `
  -- at as epoch milliseconds (the column is timestamptz(3)): a Date from a number is far cheaper than from text.
  SELECT floor(extract(epoch FROM e.created_at) * 1000)::bigint AS at_ms, ${MOVEMENT_TYPE} AS type, m.amount,
         o.name AS offer_name, c.goal_key AS goal, c.txn_id, c.sale_amount, ${movementStatus(ended)} AS status, ${MOVEMENT_REFERENCE} AS reference
  ${movementRows(ended)}`;

/**
 * A text cell as the statement CSV writes it (render/csv.ts), for COPY … WITH (FORMAT csv) to
 * quote: text a spreadsheet would run as a formula gets a leading `'`, and an empty text is
 * sent as NULL, which COPY writes as an empty cell (an empty string it would write as `""`).
 * COPY quotes a value with a comma, a double quote, CR or LF, as the writer does.
 */
function csvText(expression: string): string {
  // ascii() is the first character's code, 0 for an empty text: = + - @ TAB CR.
  return `CASE WHEN ascii(${expression}) IN (61, 43, 45, 64, 9, 13) THEN '''' || ${expression} ELSE nullif(${expression}, '') END`;
}

/** Minor units as a plain decimal with the currency's `exponent` decimals, as formatMinorUnits writes them: -1250 → -12.50. */
function csvMinorUnits(expression: string, exponent: number): string {
  if (!Number.isInteger(exponent) || exponent < 0 || exponent > 6) throw new RangeError(`currency exponent ${exponent}`);
  if (exponent === 0) return `(${expression})::text`;
  const unit = 10 ** exponent;
  return `CASE WHEN ${expression} < 0 THEN '-' ELSE '' END || (abs(${expression}) / ${unit})::text || '.' || lpad((abs(${expression}) % ${unit})::text, ${exponent}, '0')`;
}

/**
 * The movements of one currency as the statement CSV's records, rendered by PostgreSQL for
 * `COPY (…) TO STDOUT WITH (FORMAT csv)`: the cells STATEMENT_CSV_COLUMNS (render/csv.ts) writes
 * for movementLines' rows, but each record ends with COPY's LF, not CRLF. `currency` is a
 * checked ISO code (its cell as written), `exponent` its decimals, `ended` whether the period
 * has ended (its statuses are those at its end). COPY takes no parameters: $1 … $6 are to be
 * replaced by literals.
 */
export function movementCsv(currency: string, exponent: number, ended: boolean): string {
  if (!/^[A-Z]{3}$/.test(currency)) throw new RangeError(`currency ${JSON.stringify(currency)}`);
  return `
  SELECT to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), ${MOVEMENT_TYPE}, '${currency}',
         ${csvText('o.name')}, ${csvText('c.goal_key')}, ${csvText('c.txn_id')},
         ${csvMinorUnits('c.sale_amount', exponent)}, ${csvMinorUnits('m.amount', exponent)},
         ${csvText(movementStatus(ended))}, ${csvText(MOVEMENT_REFERENCE)}
  ${movementRows(ended)}`;
}

const AFFILIATE_ACCOUNTS = `('affiliate_pending', 'affiliate_available', 'affiliate_clawback')`;

/** Per affiliate and currency over [$1, $2): earned, reversed (clawbacks included), paid out, and the balance at $2. */
export const AFFILIATE_SUMMARY = `
  WITH moves AS (
    SELECT a.owner_id, l.currency, e.kind, -sum(l.amount) AS amount
      FROM journal_lines l JOIN ledger_accounts a ON a.id = l.account_id JOIN journal_entries e ON e.id = l.entry_id
     WHERE a.type IN ${AFFILIATE_ACCOUNTS} AND l.created_at >= $1 AND l.created_at < $2
     GROUP BY a.owner_id, l.currency, e.id, e.kind HAVING sum(l.amount) <> 0),
  balances AS (
    SELECT a.owner_id, l.currency, -sum(l.amount) AS balance
      FROM journal_lines l JOIN ledger_accounts a ON a.id = l.account_id
     WHERE a.type IN ${AFFILIATE_ACCOUNTS} AND l.created_at < $2
     GROUP BY a.owner_id, l.currency)
  SELECT p.id AS "affiliateId", p.name, b.currency,
         coalesce(sum(m.amount) FILTER (WHERE m.kind = 'commission'), 0)::bigint AS earned,
         (-coalesce(sum(m.amount) FILTER (WHERE m.kind = 'reversal'), 0))::bigint AS reversed,
         (-coalesce(sum(m.amount) FILTER (WHERE m.kind IN ('payout', 'payout_reversal')), 0))::bigint AS paid,
         b.balance::bigint AS balance
    FROM balances b JOIN principals p ON p.id = b.owner_id
    LEFT JOIN moves m ON m.owner_id = b.owner_id AND m.currency = b.currency
   GROUP BY p.id, p.name, b.currency, b.balance
  HAVING b.balance <> 0 OR count(m.kind) > 0
   ORDER BY p.name, p.id, b.currency`;

/** Per advertiser and currency over [$1, $2): billed, paid, outstanding receivable at $2, network margin. */
export const ADVERTISER_SUMMARY = `
  WITH receivable AS (
    SELECT a.owner_id AS advertiser_id, l.currency, sum(l.amount) AS outstanding
      FROM journal_lines l JOIN ledger_accounts a ON a.id = l.account_id
     WHERE a.type = 'advertiser_receivable' AND l.created_at < $2 GROUP BY 1, 2),
  -- Issued invoices only: a voided or failed one released its results to a later invoice, which bills them.
  billed AS (SELECT advertiser_id, currency, sum(amount) AS billed FROM invoices
              WHERE created_at >= $1 AND created_at < $2 AND status IN ('open', 'paid', 'uncollectible') GROUP BY 1, 2),
  -- What Stripe collected, not what was asked: a short payment leaves the rest receivable.
  paid AS (SELECT advertiser_id, currency, sum(amount_paid) AS paid FROM invoices WHERE paid_at >= $1 AND paid_at < $2 GROUP BY 1, 2),
  margin AS (
    SELECT c.advertiser_id, l.currency, -sum(l.amount) AS margin
      FROM journal_lines l JOIN ledger_accounts a ON a.id = l.account_id AND a.type = 'network_margin'
      JOIN journal_entries e ON e.id = l.entry_id AND e.cause_type = 'conversion'
      JOIN conversions c ON c.id::text = e.cause_id
     WHERE l.created_at >= $1 AND l.created_at < $2 GROUP BY 1, 2),
  keys AS (SELECT advertiser_id, currency FROM receivable UNION SELECT advertiser_id, currency FROM billed UNION SELECT advertiser_id, currency FROM margin)
  SELECT p.id AS "advertiserId", p.name, k.currency,
         coalesce(b.billed, 0)::bigint AS billed, coalesce(pd.paid, 0)::bigint AS paid,
         coalesce(r.outstanding, 0)::bigint AS outstanding, coalesce(m.margin, 0)::bigint AS margin
    FROM keys k JOIN principals p ON p.id = k.advertiser_id
    LEFT JOIN receivable r ON r.advertiser_id = k.advertiser_id AND r.currency = k.currency
    LEFT JOIN billed b ON b.advertiser_id = k.advertiser_id AND b.currency = k.currency
    LEFT JOIN paid pd ON pd.advertiser_id = k.advertiser_id AND pd.currency = k.currency
    LEFT JOIN margin m ON m.advertiser_id = k.advertiser_id AND m.currency = k.currency
   ORDER BY p.name, p.id, k.currency`;
