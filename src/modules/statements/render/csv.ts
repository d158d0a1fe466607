import { Transform, TransformCallback, TransformOptions } from 'node:stream';
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
 * The statement's time zone decides which lines fall in the period; the PDF shows local times.
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

/**
 * Statement lines in (object mode), CSV text out, header first even when no line follows.
 * One line is held at a time and Transform honours backpressure on both sides, so a database
 * cursor piped through this into an HTTP reply runs in constant memory whatever its length.
 */
export class StatementCsvStream extends Transform {
  constructor(options: Pick<TransformOptions, 'highWaterMark' | 'writableHighWaterMark' | 'readableHighWaterMark'> = {}) {
    super({ ...options, writableObjectMode: true, readableObjectMode: false });
    this.push(csvHeader(STATEMENT_CSV_COLUMNS));
  }

  override _transform(row: StatementCsvRow, _encoding: BufferEncoding, callback: TransformCallback): void {
    let record: string;
    try {
      record = csvRecord(STATEMENT_CSV_COLUMNS, row);
    } catch (err) {
      callback(err as Error);
      return;
    }
    callback(null, record);
  }
}
