import { HttpStatus, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { AuthPrincipal, isStaff } from '../../common/auth';
import { AppError, invalidField } from '../../common/errors';
import { currencyExponent } from '../../common/money';
import { ReadDatabase } from '../../database/read-database';
import type { Principal } from '../principals/principal.entity';
import { principalsRepository } from '../principals/principals.repository';
import { CurrencySection, StatementCsvRow, StatementCsvWriter, StatementLine, StatementLineType, StatementModel, totalsOfLines } from './render';
import { ADVERTISER_SUMMARY, AFFILIATE_SUMMARY, BALANCES, MOVEMENT_ACCOUNTS, movementCsv, movementLines } from './statement-sql';
import { CsvCopy } from './csv-copy';
import { StreamedQuery, TextRow } from './streamed-query';

/** Rows per FETCH: big enough to keep the round trips cheap, small enough to keep memory flat. */
const BATCH = 5_000;
const NETWORK_NAME = 'Afflux';

export interface AffiliateSummaryRow {
  affiliateId: string;
  name: string;
  currency: string;
  earned: number;
  reversed: number;
  paid: number;
  balance: number;
}

export interface AdvertiserSummaryRow {
  advertiserId: string;
  name: string;
  currency: string;
  billed: number;
  paid: number;
  outstanding: number;
  margin: number;
}

export interface StatementFile {
  contentType: string;
  filename: string;
  body: Readable | PDFKit.PDFDocument;
}

export interface Period {
  from: Date;
  to: Date;
  timezone: string;
}

/** Checks an IANA zone with both Node and PostgreSQL, so the period means the same to both. */
export function assertTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw invalidField('timezone', `"${timezone}" is not an IANA time zone such as Europe/Berlin`);
  }
}

/**
 * Commission statements from the ledger. Every figure comes from journal lines on the
 * affiliate's accounts, so opening + movements = closing = the ledger's balance, to the cent.
 */
@Injectable()
export class StatementsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly reads: ReadDatabase,
  ) {}

  /** Local calendar days [fromDay, toDay] in `timezone` as the half-open instant range PostgreSQL uses. */
  async period(fromDay: string, toDay: string, timezone: string): Promise<Period> {
    assertTimezone(timezone);
    if (toDay < fromDay) throw invalidField('to', 'must not be before from');
    const [row] = await this.dataSource.query(`SELECT ($1::date::timestamp AT TIME ZONE $3) AS "from", (($2::date + 1)::timestamp AT TIME ZONE $3) AS "to"`, [
      fromDay,
      toDay,
      timezone,
    ]);
    return { from: row.from, to: row.to, timezone };
  }

  /** The affiliate whose statement `actor` may read: its own, or anyone's for staff (404 otherwise). */
  async affiliateFor(actor: AuthPrincipal, affiliateId: string | undefined): Promise<Principal> {
    const id = actor.role === 'affiliate' ? (affiliateId ?? actor.id) : affiliateId;
    if (!id) throw invalidField('affiliateId', 'is required');
    if (!isStaff(actor) && id !== actor.id) throw notFound();
    const affiliate = await principalsRepository.find(this.dataSource.manager, id, 'affiliate');
    if (!affiliate) throw notFound();
    return affiliate;
  }

  /** The whole statement in memory: JSON and PDF. */
  async model(affiliate: Principal, period: Period, currency?: string): Promise<StatementModel> {
    const sections: CurrencySection[] = [];
    let opening = 0;
    let lines: StatementLine[] = [];
    const collect = ({ currency: sectionCurrency, ...row }: StatementCsvRow) => {
      if (row.type === 'opening_balance') {
        opening = row.amount;
        lines = [];
      } else if (row.type === 'closing_balance') {
        sections.push({ currency: sectionCurrency, opening, closing: row.amount, totals: totalsOfLines(lines), lines });
      } else {
        lines.push({ ...row, type: row.type });
      }
    };
    // The rows arrive through `collect`; the batches only pace the cursor.
    for await (const _batch of this.statementRows(affiliate.id, period, currency, collect)) continue;
    return {
      affiliate: { id: affiliate.id, name: affiliate.name, email: affiliate.email },
      network: { name: NETWORK_NAME },
      period,
      generatedAt: new Date(),
      sections,
    };
  }

  /**
   * The CSV, streamed: PostgreSQL renders each currency's movements with COPY … (FORMAT csv) and
   * the bytes go on to the reply as they come (records with CRLF, see CsvCopy); the header and
   * the balance lines are written here. A slow client slows the COPY (its socket is paused)
   * rather than filling memory. Balances and movements come from one snapshot, so opening +
   * movements = closing even while commissions are being posted. A client that goes away during
   * a COPY closes the connection (a COPY cannot stop halfway), which ends the transaction.
   */
  csv(affiliate: Principal, period: Period, currency?: string): Readable {
    return Readable.from(this.csvPieces(affiliate.id, period, currency), { objectMode: false, highWaterMark: 1 });
  }

  private async *csvPieces(affiliateId: string, period: Period, currency: string | undefined): AsyncGenerator<Buffer> {
    const csv = new StatementCsvWriter();
    const [client, release] = await this.reads.connection();
    let copy: CsvCopy | null = null;
    let open = false;
    try {
      await beginStatementRead(client);
      open = true;
      const { balances, ended } = await statementFacts(client, affiliateId, period, currency);
      // Each participant of a parallel plan sums the lines per entry for itself (the sums are the
      // inner side of its own hash join): with one helper they are summed twice rather than three
      // times, while the joins, the rendering and the sort are still shared (bench/README.md,
      // "Hot paths: before → after").
      await client.query('SET LOCAL max_parallel_workers_per_gather = 1');
      for (const b of balances) {
        // Throws for a currency it cannot write, as every line of it would.
        csv.write(balanceRow('opening_balance', period.from, b.currency, Number(b.opening)));
        yield* csv.take();
        // COPY takes no parameters: the values go in as literals.
        const literals = (await movementParams(client, affiliateId, period, b.currency, ended)).map(
          ([value, type]) => `${client.escapeLiteral(Array.isArray(value) ? `{${value.join(',')}}` : value instanceof Date ? value.toISOString() : value)}::${type}`,
        );
        const sql = movementCsv(b.currency, currencyExponent(b.currency), ended).replace(/\$([1-6])/g, (_, n: string) => literals[Number(n) - 1]);
        copy = new CsvCopy(`COPY (${sql}) TO STDOUT WITH (FORMAT csv)`);
        client.query(copy);
        yield* copy.pieces();
        copy = null;
        csv.write(balanceRow('closing_balance', period.to, b.currency, Number(b.closing)));
      }
      yield* csv.take();
      await client.query('COMMIT');
      open = false;
    } finally {
      if (copy?.running) {
        // Stopped during a COPY (the client went away): the pool drops the connection, then its
        // socket is closed under the COPY, and the server ends the transaction.
        release(new Error('statement export stopped during COPY'));
        copy.abandon();
      } else {
        // Stopped between statements, or an error: end the transaction.
        await endRead(client, open, release);
      }
    }
  }

  /** A statement to download: CSV streamed from the database, or the PDF. */
  async file(affiliate: Principal, period: Period, format: 'csv' | 'pdf', days: { from: string; to: string }, currency?: string): Promise<StatementFile> {
    const filename = `statement-${affiliate.id.slice(0, 8)}-${days.from}-${days.to}.${format}`;
    if (format === 'csv') return { contentType: 'text/csv; charset=utf-8', filename, body: this.csv(affiliate, period, currency) };
    const model = await this.model(affiliate, period, currency);
    const { renderStatementPdf } = await import('./render/pdf');
    return { contentType: 'application/pdf', filename, body: renderStatementPdf(model) };
  }

  /** Every affiliate (earned, reversed, paid, balance) or advertiser (billed, paid, outstanding, margin) over a period. */
  async summary(kind: 'affiliates', period: Period): Promise<AffiliateSummaryRow[]>;
  async summary(kind: 'advertisers', period: Period): Promise<AdvertiserSummaryRow[]>;
  async summary(kind: 'affiliates' | 'advertisers', period: Period): Promise<(AffiliateSummaryRow | AdvertiserSummaryRow)[]> {
    const raw: Record<string, unknown>[] = await this.reads.query(kind === 'affiliates' ? AFFILIATE_SUMMARY : ADVERTISER_SUMMARY, [period.from, period.to]);
    return raw.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+$/.test(v) && k !== 'name' ? Number(v) : v]))) as unknown as (
      AffiliateSummaryRow | AdvertiserSummaryRow
    )[];
  }

  /**
   * Hands `onRow` each currency's opening balance, its movements in time order and its closing
   * balance, as they arrive from a cursor; yields after every BATCH movements, when the caller
   * may pass on what it made. Balances and movements come from one snapshot, so opening +
   * movements = closing even while commissions are being posted.
   */
  private async *statementRows(affiliateId: string, period: Period, currency: string | undefined, onRow: (row: StatementCsvRow) => void): AsyncGenerator<void> {
    const [client, release] = await this.reads.connection();
    let prefetch: Promise<number> | null = null;
    let open = false;
    try {
      await beginStatementRead(client);
      open = true;
      // A cursor is planned for its first 10 % by default; this one is always read to the end.
      await client.query('SET LOCAL cursor_tuple_fraction = 1');
      const { balances, ended } = await statementFacts(client, affiliateId, period, currency);
      for (const b of balances) {
        const params = (await movementParams(client, affiliateId, period, b.currency, ended)).map(([value]) => value);
        await client.query(`DECLARE movements NO SCROLL CURSOR FOR ${movementLines(ended)}`, params);
        const fetch = () => client.query(new StreamedQuery(`FETCH ${BATCH} FROM movements`, (fields) => onRow(toRow(fields, b.currency)))).done;
        onRow(balanceRow('opening_balance', period.from, b.currency, Number(b.opening)));
        prefetch = fetch();
        while (prefetch) {
          const rows: number = await prefetch;
          // The next batch is read while the caller passes this one on.
          prefetch = rows === BATCH ? fetch() : null;
          if (!prefetch) onRow(balanceRow('closing_balance', period.to, b.currency, Number(b.closing)));
          yield;
        }
        await client.query('CLOSE movements');
      }
      await client.query('COMMIT');
      open = false;
    } finally {
      // Stopped early (client gone, error): let a FETCH in flight finish, then end the transaction.
      await prefetch?.catch(() => undefined);
      await endRead(client, open, release);
    }
  }
}

type SqlClient = { query: <R extends Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<{ rows: R[] }> };

/**
 * Opens a statement's read: one snapshot for balances and movements. Without JIT: a long
 * history's movement query is estimated past JIT's inlining and optimisation thresholds, and
 * compiling took longer, in each process of its parallel plan, than it saved on a million
 * movements (bench/README.md, "Hot paths: before → after").
 */
async function beginStatementRead(client: SqlClient): Promise<void> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  await client.query('SET LOCAL jit = off');
}

/**
 * What a statement's read needs before its movements: the balances per currency, and whether the
 * period ended before the transaction began (its statement then shows the statuses at its end,
 * statement-sql.ts).
 */
async function statementFacts(
  client: SqlClient,
  affiliateId: string,
  period: Period,
  currency: string | undefined,
): Promise<{ balances: { currency: string; opening: string; closing: string }[]; ended: boolean }> {
  const balances = (await client.query<{ currency: string; opening: string; closing: string }>(BALANCES, [affiliateId, period.from, period.to, currency ?? null])).rows;
  const [{ ended }] = (await client.query<{ ended: boolean }>('SELECT $1::timestamptz < now() AS ended', [period.to])).rows;
  return { balances, ended };
}

/**
 * movementLines' and movementCsv's parameters, each with its SQL type (COPY takes them as
 * literals): $1 the affiliate's accounts in `currency` (MOVEMENT_ACCOUNTS), $2 from, $3 to,
 * $4 currency, $5 its clawback accounts, and $6 the affiliate for a period that has ended.
 */
async function movementParams(client: SqlClient, affiliateId: string, period: Period, currency: string, ended: boolean): Promise<[string | string[] | Date, string][]> {
  const accounts = (await client.query<{ id: string; clawback: boolean }>(MOVEMENT_ACCOUNTS, [affiliateId, currency])).rows;
  const params: [string | string[] | Date, string][] = [
    [accounts.map((a) => a.id), 'uuid[]'],
    [period.from, 'timestamptz'],
    [period.to, 'timestamptz'],
    [currency, 'char(3)'],
    [accounts.filter((a) => a.clawback).map((a) => a.id), 'uuid[]'],
  ];
  return ended ? [...params, [affiliateId, 'uuid']] : params;
}

/** Rolls back the read transaction if it is still `open` and hands the connection back; one that cannot even roll back is closed rather than pooled. */
async function endRead(client: SqlClient, open: boolean, release: (error?: Error) => void): Promise<void> {
  const failed = open
    ? await client.query('ROLLBACK').then(
        () => undefined,
        (error: Error) => error,
      )
    : undefined;
  release(failed);
}

/** A movementLines row: at (epoch ms), type, amount, offer, goal, txn id, sale amount, status, transfer id. */
function toRow([atMs, type, amount, offerName, goal, txnId, saleAmount, status, reference]: TextRow, currency: string): StatementCsvRow {
  return {
    at: new Date(Number(atMs)),
    type: type as StatementLineType,
    currency,
    offerName,
    goal,
    txnId,
    saleAmount: saleAmount === null ? null : Number(saleAmount),
    amount: Number(amount),
    status,
    reference,
  };
}

function balanceRow(type: 'opening_balance' | 'closing_balance', at: Date, currency: string, amount: number): StatementCsvRow {
  return { at, type, currency, amount, offerName: null, goal: null, txnId: null, saleAmount: null, status: null, reference: null };
}

function notFound(): AppError {
  return new AppError('affiliate_not_found', HttpStatus.NOT_FOUND, 'No such affiliate');
}
