import { TextStyle, putLeft, putRight, useStyle } from './pdf-text';

export interface PdfColumn<T> {
  header: string;
  width: number;
  align: 'left' | 'right';
  /** Shrink the font rather than cut the text: for amounts, which must never lose digits. */
  shrink?: boolean;
  cell: (row: T) => string;
}

export interface TableLayout {
  left: number;
  /** The lowest y a row may reach on any page. */
  bottom: number;
  /** Starts a new page and returns the y where the table goes on (its header is redrawn there). */
  newPage: () => number;
}

export const TABLE_ROW_HEIGHT = 15;
export const TABLE_HEADER_HEIGHT = 17;

const CELL_PADDING = 6;
const HEADER_STYLE: TextStyle = { font: 'Helvetica-Bold', size: 7.5, color: '#ffffff' };
const BODY_STYLE: TextStyle = { font: 'Helvetica', size: 7.5, color: '#1b2430' };
const HEADER_FILL = '#243b55';
const ZEBRA_FILL = '#eef2f6';
const RULE_COLOR = '#c5ccd6';

export function tableWidth(columns: readonly { width: number }[]): number {
  return columns.reduce((sum, column) => sum + column.width, 0);
}

/**
 * Draws the table from `y` and returns the y below it. A row that would cross `layout.bottom`
 * goes to a new page, under a repeated header; the caller makes sure header and one row fit.
 */
export function drawTable<T>(doc: PDFKit.PDFDocument, columns: readonly PdfColumn<T>[], rows: Iterable<T>, y: number, layout: TableLayout): number {
  let top = drawHeaderRow(doc, columns, layout.left, y);
  let index = 0;
  for (const row of rows) {
    if (top + TABLE_ROW_HEIGHT > layout.bottom) top = drawHeaderRow(doc, columns, layout.left, layout.newPage());
    drawBodyRow(doc, columns, row, layout.left, top, index % 2 === 1);
    top += TABLE_ROW_HEIGHT;
    index += 1;
  }
  doc
    .moveTo(layout.left, top)
    .lineTo(layout.left + tableWidth(columns), top)
    .lineWidth(0.75)
    .stroke(RULE_COLOR);
  return top;
}

function drawHeaderRow<T>(doc: PDFKit.PDFDocument, columns: readonly PdfColumn<T>[], left: number, y: number): number {
  doc.rect(left, y, tableWidth(columns), TABLE_HEADER_HEIGHT).fill(HEADER_FILL);
  const texts = columns.map((column) => column.header);
  drawCells(doc, columns, texts, { left, top: y, height: TABLE_HEADER_HEIGHT, style: HEADER_STYLE });
  return y + TABLE_HEADER_HEIGHT;
}

function drawBodyRow<T>(doc: PDFKit.PDFDocument, columns: readonly PdfColumn<T>[], row: T, left: number, y: number, shaded: boolean): void {
  if (shaded) doc.rect(left, y, tableWidth(columns), TABLE_ROW_HEIGHT).fill(ZEBRA_FILL);
  const texts = columns.map((column) => column.cell(row));
  drawCells(doc, columns, texts, { left, top: y, height: TABLE_ROW_HEIGHT, style: BODY_STYLE });
}

function drawCells<T>(
  doc: PDFKit.PDFDocument,
  columns: readonly PdfColumn<T>[],
  texts: readonly string[],
  row: { left: number; top: number; height: number; style: TextStyle },
): void {
  useStyle(doc, row.style);
  // pdfkit places text by the top of its line box; centre that box in the row.
  const textY = row.top + (row.height - doc.currentLineHeight()) / 2;
  let x = row.left;
  columns.forEach((column, i) => {
    const inner = column.width - 2 * CELL_PADDING;
    const shrunk = column.shrink === true && shrinkToFit(doc, texts[i], inner, row.style.size);
    if (column.align === 'right') putRight(doc, texts[i], x + column.width - CELL_PADDING, textY, inner);
    else putLeft(doc, texts[i], x + CELL_PADDING, textY, inner);
    if (shrunk) doc.fontSize(row.style.size);
    x += column.width;
  });
}

/** Lowers the font size from `size` until `text` fits `width`; true when it had to. */
function shrinkToFit(doc: PDFKit.PDFDocument, text: string, width: number, size: number): boolean {
  const textWidth = doc.widthOfString(text);
  if (textWidth <= width) return false;
  // A hair under the exact ratio, so rounding cannot push it over and get it cut after all.
  doc.fontSize((size * (width - 0.5)) / textWidth);
  return true;
}
