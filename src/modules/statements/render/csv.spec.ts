import fc from 'fast-check';
import { CsvColumn, STATEMENT_CSV_COLUMNS, StatementCsvRow, StatementCsvWriter, csvAmount, csvCell, csvRow, renderSummaryCsv } from './csv';

const HEADER = 'date,type,currency,offer,goal,txn_id,sale_amount,amount,status,reference\r\n';

/** A minimal RFC 4180 reader for one record, to check that what we write reads back. */
function parseRecord(record: string): string[] {
  const cells: string[] = [];
  const cell = /("((?:[^"]|"")*)"|[^,"\r\n]*)(,|\r\n|$)/y;
  let match: RegExpExecArray | null;
  while (cell.lastIndex < record.length && (match = cell.exec(record))) {
    cells.push(match[2] !== undefined ? match[2].replace(/""/g, '"') : match[1]);
    if (match[3] !== ',') break;
  }
  return cells;
}

function row(i: number, overrides: Partial<StatementCsvRow> = {}): StatementCsvRow {
  return {
    at: new Date(Date.UTC(2025, 0, 1, 0, 0, i % 86_400)),
    type: i % 5 === 0 ? 'reversal' : 'conversion',
    currency: 'EUR',
    offerName: `Offer ${i % 17}, "spring"`,
    goal: 'sale',
    txnId: `T-${i}`,
    saleAmount: 10_000 + i,
    amount: i % 5 === 0 ? -1_250 : 1_250,
    status: 'approved',
    reference: null,
    ...overrides,
  };
}

describe('csvCell', () => {
  it.each([
    ['plain', 'plain'],
    ['', ''],
    ['=SUM(A1)', "'=SUM(A1)"],
    ['+1', "'+1"],
    ['-cmd', "'-cmd"],
    ['@x', "'@x"],
    ['\tx', "'\tx"],
    ['\rx', `"'\rx"`],
    ['=HYPERLINK("http://evil","x")', `"'=HYPERLINK(""http://evil"",""x"")"`],
    ['a,b', '"a,b"'],
    ['a"b', '"a""b"'],
    ['line 1\nline 2', '"line 1\nline 2"'],
    ['line 1\r\nline 2', '"line 1\r\nline 2"'],
    ['Crédit Étudiant — 日本 🚀', 'Crédit Étudiant — 日本 🚀'],
    ['a=b', 'a=b'],
    [' =1', ' =1'],
  ])('writes %j as %j', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it.each([
    [null, ''],
    [undefined, ''],
    [0, '0'],
    [-42, '-42'],
  ])('writes %p as %j', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it('refuses a float, so money cannot slip in unformatted', () => {
    expect(() => csvCell(12.5)).toThrow(TypeError);
  });

  it('reads back as the text, with the guard quote only before formula starts', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (value) => {
        const guarded = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
        expect(parseRecord(`${csvCell(value)}\r\n`)).toEqual([guarded]);
      }),
    );
  });
});

describe('csvAmount', () => {
  it.each([
    [-1_250, 'USD', '-12.50'],
    [1_250, 'USD', '12.50'],
    [-100, 'JPY', '-100'],
    [-7, 'KWD', '-0.007'],
    [0, 'EUR', '0.00'],
  ])('writes %i %s as the plain number %j, neither quoted nor guarded', (amount, currency, expected) => {
    expect(csvCell(csvAmount(amount, currency))).toBe(expected);
  });

  it('leaves a missing amount empty', () => {
    expect(csvCell(csvAmount(null, 'USD'))).toBe('');
  });

  it('guards the same characters when they come as text', () => {
    expect(csvRow([csvAmount(-1_250, 'USD'), '-12.50'])).toBe("-12.50,'-12.50\r\n");
  });
});

describe('csvRow / renderSummaryCsv', () => {
  it('ends every record with CRLF', () => {
    expect(csvRow(['a', null, 3])).toBe('a,,3\r\n');
  });

  it('renders a header and one record per row', () => {
    const columns: CsvColumn<{ name: string; conversions: number; payout: number }>[] = [
      { header: 'affiliate', value: (r) => r.name },
      { header: 'conversions', value: (r) => r.conversions },
      { header: 'payout', value: (r) => csvAmount(r.payout, 'USD') },
    ];
    const rows = [
      { name: 'Acme, Inc.', conversions: 12, payout: 123_450 },
      { name: '=cmd', conversions: 0, payout: -500 },
    ];
    expect(renderSummaryCsv(rows, columns)).toBe('affiliate,conversions,payout\r\n"Acme, Inc.",12,1234.50\r\n\'=cmd,0,-5.00\r\n');
  });

  it('renders only the header when there are no rows', () => {
    expect(renderSummaryCsv([], [{ header: 'a', value: () => null }])).toBe('a\r\n');
  });
});

describe('StatementCsvWriter', () => {
  const taken = (csv: StatementCsvWriter) => Buffer.concat(csv.take()).toString('utf8');

  it('writes the header even when no line follows, and nothing more until a line does', () => {
    const csv = new StatementCsvWriter();
    expect(taken(csv)).toBe(HEADER);
    expect(csv.take()).toEqual([]);
  });

  it('writes a line as ISO 8601 UTC, raw type, plain amounts and guarded text', () => {
    const csv = new StatementCsvWriter();
    csv.write(
      row(1, {
        at: new Date('2025-01-31T23:30:00.000Z'),
        type: 'payout',
        offerName: null,
        goal: '@goal',
        txnId: null,
        saleAmount: null,
        amount: -123_450,
        status: null,
        reference: 'tr_1QxZ9kLmNoPqRsTuVwXy0001',
        currency: 'USD',
      }),
    );
    const [header, record, rest] = taken(csv).split('\r\n');
    expect(`${header}\r\n`).toBe(HEADER);
    expect(record).toBe("2025-01-31T23:30:00.000Z,payout,USD,,'@goal,,,-1234.50,,tr_1QxZ9kLmNoPqRsTuVwXy0001");
    expect(rest).toBe('');
  });

  it('throws on a line it cannot write and writes nothing of it', () => {
    const csv = new StatementCsvWriter();
    expect(() => csv.write(row(1, { currency: 'usd' }))).toThrow(/unknown currency/);
    expect(taken(csv)).toBe(HEADER);
  });

  it('hands over every line once, in order, in pieces of bounded size', () => {
    const csv = new StatementCsvWriter();
    const pieces: Buffer[] = [];
    let expected = HEADER;
    for (let i = 0; i < 20_000; i += 1) {
      csv.write(row(i));
      expected += csvRow(STATEMENT_CSV_COLUMNS.map((column) => column.value(row(i))));
      if (i % 7_000 === 0) pieces.push(...csv.take());
    }
    pieces.push(...csv.take());
    expect(Buffer.concat(pieces).toString('utf8')).toBe(expected);
    // Lines are turned into bytes as they accumulate, not all at the end.
    expect(pieces.length).toBeGreaterThan(20);
    for (const piece of pieces) expect(piece.length).toBeLessThan(80 * 1024);
  });
});
