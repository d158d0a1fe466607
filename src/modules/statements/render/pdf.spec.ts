import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderStatementPdf } from './pdf';
import { CurrencySection, StatementLine, StatementLineType, StatementModel, totalsOfLines } from './statement.model';

const ARTIFACTS = join(__dirname, '../../../../test/artifacts');
const OFFERS = ['Summer Sale — Shoes & Accessories Worldwide', 'VPN Annual', 'Crédit Étudiant', 'Insurance Lead 日本'];
const CYCLE: StatementLineType[] = ['conversion', 'conversion', 'conversion', 'reversal', 'conversion', 'clawback', 'conversion', 'adjustment', 'payout', 'payout_returned'];

/** Line `i` of a busy month: mostly conversions, some reversals, payouts and adjustments. */
function line(i: number, start: Date): StatementLine {
  const type = CYCLE[i % CYCLE.length];
  const earned = type === 'conversion' || type === 'reversal' || type === 'clawback';
  const base = 1_250 + ((i * 7_919) % 240_000);
  const sign = type === 'conversion' || type === 'payout_returned' || type === 'adjustment' ? 1 : -1;
  return {
    at: new Date(start.getTime() + i * 5_400_000),
    type,
    offerName: earned ? OFFERS[i % OFFERS.length] : null,
    goal: earned ? (i % 3 === 0 ? 'sale' : 'first_deposit_verified') : null,
    txnId: earned ? `TXN-${100_000 + i}-${'x'.repeat(i % 20)}` : null,
    saleAmount: earned ? base * 12 : null,
    amount: sign * (type === 'payout' ? base * 4 : base),
    status: earned ? 'approved' : null,
    reference: type.startsWith('payout') ? `tr_1QxZ9kLmNoPqRsTuVwXy${String(i).padStart(4, '0')}` : type === 'adjustment' ? 'Goodwill credit, ticket #4411' : null,
  };
}

function section(currency: string, opening: number, lines: StatementLine[]): CurrencySection {
  const totals = totalsOfLines(lines);
  const closing = lines.reduce((sum, l) => sum + l.amount, opening);
  return { currency, opening, closing, totals, lines };
}

function model(sections: CurrencySection[]): StatementModel {
  return {
    affiliate: { id: 'aff_7f3c2a91-0b1e-4d5e-9c0a-3e2b1d4c5f60', name: 'Northwind Media GmbH', email: 'payouts@northwind-media.example' },
    network: { name: 'Afflux Partner Network' },
    period: { from: new Date('2024-12-31T23:00:00Z'), to: new Date('2025-01-31T23:00:00Z'), timezone: 'Europe/Berlin' },
    generatedAt: new Date('2025-02-01T08:15:00Z'),
    sections,
  };
}

const busyLines = (n: number) => Array.from({ length: n }, (_, i) => line(i, new Date('2025-01-01T08:00:00Z')));

async function pdfText(doc: NodeJS.ReadableStream): Promise<{ bytes: Buffer; latin1: string }> {
  const chunks: Buffer[] = [];
  for await (const chunk of doc) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  return { bytes, latin1: bytes.toString('latin1') };
}

function hasTool(name: string): boolean {
  try {
    execFileSync('which', [name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Text of the whole PDF through pdftotext (poppler), or null without it. */
function extractText(file: string): string | null {
  if (!hasTool('pdftotext')) return null;
  return execFileSync('pdftotext', ['-layout', file, '-']).toString('utf8');
}

/** `test/artifacts/<name>.png` of one page, for a person to look at (needs poppler's pdftoppm). */
function snapshot(file: string, page: number, name: string): void {
  if (!hasTool('pdftoppm')) return;
  const args = ['-png', '-r', '110', '-singlefile', '-f', String(page), '-l', String(page)];
  execFileSync('pdftoppm', [...args, file, join(ARTIFACTS, name)]);
}

function save(name: string, bytes: Buffer): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, name);
  writeFileSync(file, bytes);
  return file;
}

describe('renderStatementPdf', () => {
  it('renders three currencies × 120 lines with a page count on every page', async () => {
    const busy = model([section('USD', 1_234_567, busyLines(120)), section('EUR', 0, busyLines(120)), section('JPY', 50_000, busyLines(120))]);
    const { bytes, latin1 } = await pdfText(renderStatementPdf(busy));
    expect(latin1.startsWith('%PDF')).toBe(true);
    const file = save('statement-busy.pdf', bytes);
    const extracted = extractText(file);
    if (extracted === null) return;
    const pages = extracted.split('\f').filter((page) => page.trim() !== '');
    expect(pages.length).toBeGreaterThan(3);
    pages.forEach((page, i) => expect(page).toContain(`Page ${i + 1} of ${pages.length}`));
    expect(extracted).toContain('Commission statement');
    expect(extracted).toContain('2025-01-01 to 2025-01-31');
    expect(extracted).toContain('12,345.67 USD');
    expect(extracted).toMatch(/USD account - activity \(continued\)/);
    expect(extracted).toContain('…');
    snapshot(file, 1, 'statement-busy-page1');
    snapshot(file, 2, 'statement-busy-page2');
  });

  it('shows opening and closing balances and says so when a period had no activity', async () => {
    const quiet = model([section('USD', 1_234_550, [])]);
    const { bytes, latin1 } = await pdfText(renderStatementPdf(quiet));
    expect(latin1.startsWith('%PDF')).toBe(true);
    const file = save('statement-empty.pdf', bytes);
    const extracted = extractText(file);
    if (extracted === null) return;
    expect(extracted).toContain('No activity in this period');
    expect(extracted).toMatch(/Opening balance\s+12,345.50 USD/);
    expect(extracted).toMatch(/Closing balance\s+12,345.50 USD/);
    expect(extracted).toContain('Page 1 of 1');
    snapshot(file, 1, 'statement-empty-page1');
  });

  it('shrinks a huge amount rather than cutting digits off', async () => {
    const huge = { ...line(0, new Date('2025-01-10T12:00:00Z')), saleAmount: 999_999_999_999_999, amount: 99_999_999_999_999 };
    const { bytes } = await pdfText(renderStatementPdf(model([section('USD', 0, [huge])])));
    const extracted = extractText(save('statement-huge.pdf', bytes));
    if (extracted === null) return;
    expect(extracted).toContain('9,999,999,999,999.99 USD');
    expect(extracted).toContain('999,999,999,999.99 USD');
  });

  it('renders a statement without any currency section', async () => {
    const { latin1 } = await pdfText(renderStatementPdf(model([])));
    expect(latin1.startsWith('%PDF')).toBe(true);
  });

  it('refuses a statement that does not add up, before writing anything', () => {
    const broken = section('USD', 0, busyLines(3));
    broken.closing += 1;
    expect(() => renderStatementPdf(model([broken]))).toThrow(/does not|≠/);
  });
});
