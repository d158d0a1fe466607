import { formatMinorUnits } from '../../../common/money';
import { StatementLine } from './statement.model';

/** A number we formatted ourselves (e.g. `-12.50`): written as is, never treated as text. */
export interface CsvNumber {
  readonly csvNumber: string;
}

/** Strings are text (quoted and injection-protected as needed); null and undefined are empty cells. */
export type CsvValue = string | number | CsvNumber | null | undefined;

export interface CsvColumn<T> {
  header: string;
  value: (row: T) => CsvValue;
}

export const CSV_EOL = '\r\n';

// Characters a spreadsheet reads as the start of a formula (OWASP CSV injection).
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** An amount in minor units as a plain decimal cell, e.g. `-1250, 'USD'` → `-12.50`. */
export function csvAmount(amount: number | null, currency: string): CsvNumber | null {
  return amount === null ? null : { csvNumber: formatMinorUnits(amount, currency) };
}

/** One RFC 4180 field. Text that a spreadsheet would run as a formula gets a leading `'`. */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return integerCell(value);
  if (typeof value === 'object') return value.csvNumber;
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record with its CRLF terminator. */
export function csvRow(cells: readonly CsvValue[]): string {
  return cells.map(csvCell).join(',') + CSV_EOL;
}

export function csvHeader<T>(columns: readonly CsvColumn<T>[]): string {
  return csvRow(columns.map((column) => column.header));
}

export function csvRecord<T>(columns: readonly CsvColumn<T>[], row: T): string {
  return csvRow(columns.map((column) => column.value(row)));
}

/** A whole CSV document in memory: for small period summaries only; stream anything large. */
export function renderSummaryCsv<T>(rows: Iterable<T>, columns: readonly CsvColumn<T>[]): string {
  let out = csvHeader(columns);
  for (const row of rows) out += csvRecord(columns, row);
  return out;
}

function integerCell(value: number): string {
  // Money goes through csvAmount; a bare number is a count, and a float here would be a bug.
  if (!Number.isSafeInteger(value)) throw new TypeError(`CSV numbers must be safe integers, got ${value}`);
  return String(value);
}

/** The CSV also carries each currency's opening and closing balance as rows of their own. */
export type StatementCsvRow = Omit<StatementLine, 'type'> & { type: StatementLine['type'] | 'opening_balance' | 'closing_balance'; currency: string };

/**
 * Dates are ISO 8601 instants in UTC (`2025-01-31T23:30:00.000Z`), as the ledger stores them:
 * unambiguous across DST changes, sortable as text, and the same in every reader's locale.
 * The statement's time zone decides which lines fall in the period; the PDF shows UTC times too.
 */
export const STATEMENT_CSV_COLUMNS: readonly CsvColumn<StatementCsvRow>[] = [
  { header: 'date', value: (row) => row.at.toISOString() },
  { header: 'type', value: (row) => row.type },
  { header: 'currency', value: (row) => row.currency },
  { header: 'offer', value: (row) => row.offerName },
  { header: 'goal', value: (row) => row.goal },
  { header: 'txn_id', value: (row) => row.txnId },
  { header: 'sale_amount', value: (row) => csvAmount(row.saleAmount, row.currency) },
  { header: 'amount', value: (row) => csvAmount(row.amount, row.currency) },
  { header: 'status', value: (row) => row.status },
  { header: 'reference', value: (row) => row.reference },
];

/** Text is handed over as bytes in pieces of about this size: small enough to die young. */
const PIECE_CHARS = 64 * 1024;

/**
 * The statement CSV, written a line at a time and taken away in pieces as bytes: header first,
 * even when no line follows. The caller takes what was written whenever its reader is ready,
 * so only the lines since then are held, and they are held as bytes (outside the JS heap) once
 * they make a piece.
 */
export class StatementCsvWriter {
  private text = csvHeader(STATEMENT_CSV_COLUMNS);
  private pieces: Buffer[] = [];

  /** Throws (and writes nothing) for a line it cannot write, e.g. an unknown currency. */
  write(row: StatementCsvRow): void {
    this.text += csvRecord(STATEMENT_CSV_COLUMNS, row);
    if (this.text.length >= PIECE_CHARS) this.cut();
  }

  /** Everything written since the last take, in order; empty when nothing was. */
  take(): Buffer[] {
    if (this.text) this.cut();
    const pieces = this.pieces;
    this.pieces = [];
    return pieces;
  }

  private cut(): void {
    this.pieces.push(Buffer.from(this.text, 'utf8'));
    this.text = '';
  }
}
