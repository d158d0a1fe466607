import PDFDocument from 'pdfkit';
import { LINE_TYPE_LABELS, formatDateTime, formatMoney, formatPeriod } from './format';
import { PdfColumn, TABLE_HEADER_HEIGHT, TABLE_ROW_HEIGHT, drawTable, tableWidth } from './pdf-table';
import { TextStyle, putLeft, putRight, useStyle } from './pdf-text';
import { CurrencySection, StatementLine, StatementModel, assertAddsUp } from './statement.model';

const MARGINS = { top: 40, bottom: 56, left: 40, right: 40 };
const INK = '#1b2430';
const MUTED = '#667085';
const ACCENT = '#243b55';
const RULE_COLOR = '#c5ccd6';
const BOX_FILL = '#f5f7fa';

const STYLE = {
  network: { font: 'Helvetica-Bold', size: 18, color: INK },
  title: { font: 'Helvetica-Bold', size: 13, color: ACCENT },
  caption: { font: 'Helvetica-Bold', size: 7, color: MUTED },
  name: { font: 'Helvetica-Bold', size: 11, color: INK },
  body: { font: 'Helvetica', size: 9, color: INK },
  muted: { font: 'Helvetica', size: 8, color: MUTED },
  section: { font: 'Helvetica-Bold', size: 12, color: ACCENT },
  strong: { font: 'Helvetica-Bold', size: 9, color: INK },
  notice: { font: 'Helvetica-Oblique', size: 9, color: MUTED },
  footer: { font: 'Helvetica', size: 7.5, color: MUTED },
} satisfies Record<string, TextStyle>;

/**
 * The commission statement as a PDF stream (A4 landscape, built-in Helvetica). Throws before writing a
 * byte when a section does not add up; the whole document is laid out in memory, since
 * "Page N of M" needs the page count, so very long periods belong in the CSV.
 */
export function renderStatementPdf(model: StatementModel): PDFKit.PDFDocument {
  assertAddsUp(model);
  const doc = new PDFDocument({
    size: 'A4',
    // Landscape: eight columns with full Stripe transfer ids do not fit a portrait page.
    layout: 'landscape',
    margins: MARGINS,
    bufferPages: true,
    info: {
      Title: `Commission statement ${formatPeriod(model.period)}`,
      Author: model.network.name,
      Subject: `${model.affiliate.name} (${model.affiliate.id})`,
      CreationDate: model.generatedAt,
    },
  });
  const flow = new PageFlow(doc);
  drawDocumentHeader(flow, model);
  if (model.sections.length === 0) drawNotice(flow, 'No activity in this period.');
  // Every time in UTC, as the CSV has it: the two files of one statement say the same thing.
  for (const section of model.sections) drawSection(flow, section, 'UTC');
  drawFooters(doc, model);
  doc.end();
  return doc;
}

/** Where the next block goes, and a new page when it does not fit. */
class PageFlow {
  y = MARGINS.top;

  constructor(readonly doc: PDFKit.PDFDocument) {}

  get left(): number {
    return MARGINS.left;
  }

  get right(): number {
    return this.doc.page.width - MARGINS.right;
  }

  get bottom(): number {
    return this.doc.page.height - MARGINS.bottom;
  }

  ensure(height: number): void {
    if (this.y + height > this.bottom) this.newPage();
  }

  newPage(): number {
    this.doc.addPage();
    this.y = MARGINS.top;
    return this.y;
  }

  rule(gapAfter: number): void {
    this.doc.moveTo(this.left, this.y).lineTo(this.right, this.y).lineWidth(0.75).stroke(RULE_COLOR);
    this.y += gapAfter;
  }
}

function styled(flow: PageFlow, style: TextStyle): PDFKit.PDFDocument {
  useStyle(flow.doc, style);
  return flow.doc;
}

// ── Document header ────────────────────────────────────────────────────────────────────────

function drawDocumentHeader(flow: PageFlow, model: StatementModel): void {
  const half = (flow.right - flow.left) / 2;
  putLeft(styled(flow, STYLE.network), model.network.name, flow.left, flow.y, half);
  putRight(styled(flow, STYLE.title), 'Commission statement', flow.right, flow.y + 4, half);
  flow.y += 30;
  flow.rule(12);
  const top = flow.y;
  const leftEnd = drawAffiliateBlock(flow, model.affiliate, half - 20);
  const rightEnd = drawPeriodBlock(flow, model, top, flow.left + half + 20);
  flow.y = Math.max(leftEnd, rightEnd) + 10;
  flow.rule(18);
}

function drawAffiliateBlock(flow: PageFlow, affiliate: StatementModel['affiliate'], width: number): number {
  let y = flow.y;
  putLeft(styled(flow, STYLE.caption), 'STATEMENT FOR', flow.left, y);
  putLeft(styled(flow, STYLE.name), affiliate.name, flow.left, (y += 11), width);
  putLeft(styled(flow, STYLE.body), affiliate.email, flow.left, (y += 15), width);
  putLeft(styled(flow, STYLE.muted), `Affiliate ID ${affiliate.id}`, flow.left, (y += 13), width);
  return y + 10;
}

function drawPeriodBlock(flow: PageFlow, model: StatementModel, top: number, x: number): number {
  const rows: [string, string][] = [
    ['Period', `${formatPeriod(model.period)}, days in ${model.period.timezone}`],
    ['Times', 'in UTC, as in the CSV'],
    ['Generated', `${formatDateTime(model.generatedAt, 'UTC')} UTC`],
  ];
  putLeft(styled(flow, STYLE.caption), 'STATEMENT PERIOD', x, top);
  let y = top + 12;
  for (const [label, value] of rows) {
    putLeft(styled(flow, STYLE.muted), label, x, y + 1);
    putLeft(styled(flow, STYLE.body), value, x + 60, y, flow.right - x - 60);
    y += 13;
  }
  return y;
}

// ── Currency sections ─────────────────────────────────────────────────────────────────────

const SUMMARY_ROWS: readonly { label: string; amount: (s: CurrencySection) => number; strong?: true; total?: true }[] = [
  { label: 'Opening balance', amount: (s) => s.opening, strong: true },
  { label: 'Earned (conversions)', amount: (s) => s.totals.earned },
  { label: 'Reversed', amount: (s) => s.totals.reversed },
  { label: 'Clawbacks', amount: (s) => s.totals.clawbacks },
  { label: 'Paid out', amount: (s) => s.totals.paid },
  { label: 'Adjustments', amount: (s) => s.totals.adjustments },
  { label: 'Bonuses', amount: (s) => s.totals.bonuses },
  { label: 'Closing balance', amount: (s) => s.closing, strong: true, total: true },
];
const SUMMARY_WIDTH = 270;
const SUMMARY_ROW_HEIGHT = 15;
const SUMMARY_PADDING = 8;
const SUMMARY_HEIGHT = SUMMARY_ROWS.length * SUMMARY_ROW_HEIGHT + 2 * SUMMARY_PADDING;
// Heading, summary and the table header with a few rows stay together on one page.
const SECTION_KEEP_TOGETHER = 24 + SUMMARY_HEIGHT + 34 + TABLE_HEADER_HEIGHT + 3 * TABLE_ROW_HEIGHT;

function drawSection(flow: PageFlow, section: CurrencySection, timeZone: string): void {
  flow.ensure(SECTION_KEEP_TOGETHER);
  putLeft(styled(flow, STYLE.section), `${section.currency} account`, flow.left, flow.y);
  flow.y += 22;
  drawSummaryBox(flow, section);
  drawSummaryNote(flow, section);
  flow.y += SUMMARY_HEIGHT + 16;
  if (section.lines.length === 0) drawNotice(flow, 'No activity in this period.');
  else drawLines(flow, section, timeZone);
  flow.y += 26;
}

function drawSummaryBox(flow: PageFlow, section: CurrencySection): void {
  const { doc, left } = flow;
  doc.rect(left, flow.y, SUMMARY_WIDTH, SUMMARY_HEIGHT).lineWidth(0.75).fillAndStroke(BOX_FILL, RULE_COLOR);
  let y = flow.y + SUMMARY_PADDING;
  for (const row of SUMMARY_ROWS) {
    if (row.total) {
      doc
        .moveTo(left + SUMMARY_PADDING, y)
        .lineTo(left + SUMMARY_WIDTH - SUMMARY_PADDING, y)
        .lineWidth(0.5)
        .stroke(RULE_COLOR);
    }
    const style = row.strong ? STYLE.strong : STYLE.body;
    putLeft(styled(flow, style), row.label, left + SUMMARY_PADDING, y + 3);
    putRight(doc, formatMoney(row.amount(section), section.currency), left + SUMMARY_WIDTH - SUMMARY_PADDING, y + 3);
    y += SUMMARY_ROW_HEIGHT;
  }
}

function drawSummaryNote(flow: PageFlow, section: CurrencySection): void {
  const x = flow.left + SUMMARY_WIDTH + 20;
  const count = section.lines.length;
  const note =
    'Negative amounts reduce the balance: reversals and clawbacks of commissions, and payouts sent to you. ' +
    'A returned payout adds its amount back; a payout reversed in part adds the reversed part back.';
  putLeft(styled(flow, STYLE.strong), `${count} transaction${count === 1 ? '' : 's'} in this period`, x, flow.y + 3);
  styled(flow, STYLE.muted).text(note, x, flow.y + 20, { width: Math.min(300, flow.right - x), lineGap: 2 });
}

function drawNotice(flow: PageFlow, text: string): void {
  flow.ensure(30);
  const { doc } = flow;
  doc
    .rect(flow.left, flow.y, flow.right - flow.left, 26)
    .lineWidth(0.75)
    .stroke(RULE_COLOR);
  putLeft(styled(flow, STYLE.notice), text, flow.left + 10, flow.y + 8);
  flow.y += 26;
}

function drawLines(flow: PageFlow, section: CurrencySection, timeZone: string): void {
  const columns = lineColumns(section.currency, timeZone, flow.right - flow.left);
  const continued = (): number => {
    flow.newPage();
    putLeft(styled(flow, STYLE.strong), `${section.currency} account - activity (continued)`, flow.left, flow.y);
    return flow.y + 16;
  };
  putLeft(styled(flow, STYLE.strong), 'Activity', flow.left, flow.y);
  const layout = { left: flow.left, bottom: flow.bottom, newPage: continued };
  flow.y = drawTable(flow.doc, columns, section.lines, flow.y + 14, layout);
}

function lineColumns(currency: string, timeZone: string, width: number): PdfColumn<StatementLine>[] {
  const money = (amount: number | null) => (amount === null ? '' : formatMoney(amount, currency));
  const columns: PdfColumn<StatementLine>[] = [
    { header: 'Date (UTC)', width: 72, align: 'left', cell: (l) => formatDateTime(l.at, timeZone) },
    { header: 'Type', width: 66, align: 'left', cell: (l) => LINE_TYPE_LABELS[l.type] },
    { header: 'Offer', width: 112, align: 'left', cell: (l) => l.offerName ?? '' },
    { header: 'Goal', width: 92, align: 'left', cell: (l) => l.goal ?? '' },
    { header: 'Txn ID', width: 110, align: 'left', cell: (l) => l.txnId ?? '' },
    { header: 'Sale', width: 84, align: 'right', shrink: true, cell: (l) => money(l.saleAmount) },
    { header: 'Amount', width: 84, align: 'right', shrink: true, cell: (l) => money(l.amount) },
  ];
  // The reference (a Stripe transfer id is 27 characters) takes the rest of the width.
  return [...columns, { header: 'Reference', width: width - tableWidth(columns), align: 'left', cell: (l) => l.reference ?? '' }];
}

// ── Footers ──────────────────────────────────────────────────────────────────────────────

function drawFooters(doc: PDFKit.PDFDocument, model: StatementModel): void {
  const { start, count } = doc.bufferedPageRange();
  const label = `${model.network.name} · Commission statement · ${model.affiliate.name} · ${formatPeriod(model.period)}`;
  for (let i = 0; i < count; i += 1) {
    doc.switchToPage(start + i);
    drawFooter(doc, label, `Page ${i + 1} of ${count}`);
  }
}

function drawFooter(doc: PDFKit.PDFDocument, label: string, pageText: string): void {
  const right = doc.page.width - MARGINS.right;
  const y = doc.page.height - MARGINS.bottom + 18;
  doc
    .moveTo(MARGINS.left, y - 6)
    .lineTo(right, y - 6)
    .lineWidth(0.5)
    .stroke(RULE_COLOR);
  useStyle(doc, STYLE.footer);
  putRight(doc, pageText, right, y);
  putLeft(doc, label, MARGINS.left, y, right - MARGINS.left - doc.widthOfString(pageText) - 20);
}
