import { HttpStatus, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { AuthPrincipal, isStaff } from '../../common/auth';
import { AppError, invalidField } from '../../common/errors';
import { Principal } from '../accounts/principal.entity';
import { CurrencySection, renderStatementPdf, StatementCsvRow, StatementCsvStream, StatementLine, StatementLineType, StatementModel, totalsOfLines } from './render';
import { ADVERTISER_SUMMARY, AFFILIATE_SUMMARY, BALANCES, MOVEMENT_PAGE } from './statement-sql';

const PAGE = 5_000;
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

interface MovementRow {
  entry_id: string;
  at: Date;
  at_key: string;
  currency: string;
  amount: string;
  type: StatementLineType;
  txn_id: string | null;
  goal: string | null;
  sale_amount: string | null;
  status: string | null;
  offer_name: string | null;
  stripe_transfer_id: string | null;
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
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Local calendar days [fromDay, toDay] in `timezone` as the half-open instant range PostgreSQL uses. */
  async period(fromDay: string, toDay: string, timezone: string): Promise<Period> {
    assertTimezone(timezone);
    if (toDay < fromDay) throw invalidField('to', 'must not be before from');
    const [row] = await this.dataSource.query(
      `SELECT ($1::date::timestamp AT TIME ZONE $3) AS "from", (($2::date + 1)::timestamp AT TIME ZONE $3) AS "to"`,
      [fromDay, toDay, timezone],
    );
    return { from: row.from, to: row.to, timezone };
  }

  /** The affiliate whose statement `actor` may read: its own, or anyone's for staff (404 otherwise). */
  async affiliateFor(actor: AuthPrincipal, affiliateId: string | undefined): Promise<Principal> {
    const id = actor.role === 'affiliate' ? (affiliateId ?? actor.id) : affiliateId;
    if (!id) throw invalidField('affiliateId', 'is required');
    if (!isStaff(actor) && id !== actor.id) throw notFound();
    const affiliate = await this.dataSource.getRepository(Principal).findOneBy({ id, role: 'affiliate' });
    if (!affiliate) throw notFound();
    return affiliate;
  }

  /** The whole statement in memory: JSON and PDF. */
  async model(affiliate: Principal, period: Period, currency?: string): Promise<StatementModel> {
    const sections: CurrencySection[] = [];
    for (const balance of await this.balances(affiliate.id, period, currency)) {
      const lines: StatementLine[] = [];
      for await (const line of this.lines(affiliate.id, period, balance.currency)) lines.push(line);
      sections.push({ ...balance, totals: totalsOfLines(lines), lines });
    }
    return {
      affiliate: { id: affiliate.id, name: affiliate.name, email: affiliate.email },
      network: { name: NETWORK_NAME },
      period,
      generatedAt: new Date(),
      sections,
    };
  }

  /** CSV rows, streamed page by page from the database: constant memory whatever the range. */
  csvRows(affiliate: Principal, period: Period, currency?: string): Readable {
    const self = this;
    async function* rows(): AsyncGenerator<StatementCsvRow> {
      for (const b of await self.balances(affiliate.id, period, currency)) {
        yield balanceRow('opening_balance', period.from, b.currency, b.opening);
        for await (const line of self.lines(affiliate.id, period, b.currency)) yield { ...line, currency: b.currency };
        yield balanceRow('closing_balance', period.to, b.currency, b.closing);
      }
    }
    return Readable.from(rows(), { objectMode: true, highWaterMark: 256 });
  }

  /** A statement to download: CSV streamed from the database, or the PDF. */
  async file(affiliate: Principal, period: Period, format: 'csv' | 'pdf', days: { from: string; to: string }, currency?: string): Promise<StatementFile> {
    const filename = `statement-${affiliate.id.slice(0, 8)}-${days.from}-${days.to}.${format}`;
    if (format === 'csv') return { contentType: 'text/csv; charset=utf-8', filename, body: this.csvRows(affiliate, period, currency).pipe(new StatementCsvStream()) };
    return { contentType: 'application/pdf', filename, body: renderStatementPdf(await this.model(affiliate, period, currency)) };
  }

  /** Every affiliate (earned, reversed, paid, balance) or advertiser (billed, paid, outstanding, margin) over a period. */
  async summary(kind: 'affiliates', period: Period): Promise<AffiliateSummaryRow[]>;
  async summary(kind: 'advertisers', period: Period): Promise<AdvertiserSummaryRow[]>;
  async summary(kind: 'affiliates' | 'advertisers', period: Period): Promise<(AffiliateSummaryRow | AdvertiserSummaryRow)[]> {
    const raw: Record<string, unknown>[] = await this.dataSource.query(kind === 'affiliates' ? AFFILIATE_SUMMARY : ADVERTISER_SUMMARY, [period.from, period.to]);
    return raw.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+$/.test(v) && k !== 'name' ? Number(v) : v]))) as unknown as (AffiliateSummaryRow | AdvertiserSummaryRow)[];
  }

  private async balances(affiliateId: string, period: Period, currency?: string): Promise<{ currency: string; opening: number; closing: number }[]> {
    const rows: { currency: string; opening: string; closing: string }[] = await this.dataSource.query(BALANCES, [affiliateId, period.from, period.to, currency ?? null]);
    return rows.map((r) => ({ currency: r.currency, opening: Number(r.opening), closing: Number(r.closing) }));
  }

  private async *lines(affiliateId: string, period: Period, currency: string): AsyncGenerator<StatementLine> {
    let after: [string, string] = ['-infinity', '00000000-0000-0000-0000-000000000000'];
    for (;;) {
      const rows: MovementRow[] = await this.dataSource.query(MOVEMENT_PAGE, [affiliateId, period.from, period.to, currency, after[0], after[1], currency, PAGE]);
      for (const r of rows) yield toLine(r);
      if (rows.length < PAGE) return;
      const last = rows[rows.length - 1];
      after = [last.at_key, last.entry_id];
    }
  }
}

function toLine(r: MovementRow): StatementLine {
  return {
    at: r.at,
    type: r.type,
    offerName: r.offer_name,
    goal: r.goal,
    txnId: r.txn_id,
    saleAmount: r.sale_amount === null ? null : Number(r.sale_amount),
    amount: Number(r.amount),
    status: r.status,
    reference: r.stripe_transfer_id,
  };
}

function balanceRow(type: 'opening_balance' | 'closing_balance', at: Date, currency: string, amount: number): StatementCsvRow {
  return { at, type, currency, amount, offerName: null, goal: null, txnId: null, saleAmount: null, status: null, reference: null };
}

function notFound(): AppError {
  return new AppError('affiliate_not_found', HttpStatus.NOT_FOUND, 'No such affiliate');
}
