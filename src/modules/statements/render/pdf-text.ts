// Text helpers for pdfkit's built-in (AFM) fonts, which only know the WinAnsi character set.

/** Characters outside Latin-1 that WinAnsi still has (pdfkit maps them itself). */
const WIN_ANSI_EXTRAS = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');
const ELLIPSIS = '…';

export type FontName = 'Helvetica' | 'Helvetica-Bold' | 'Helvetica-Oblique';

export interface TextStyle {
  font: FontName;
  size: number;
  color: string;
}

/**
 * Makes text printable with a standard font: composes accents (NFC), turns control characters
 * into spaces and anything WinAnsi lacks (CJK, emoji…) into `?` instead of garbage glyphs.
 */
export function toWinAnsi(text: string): string {
  let out = '';
  for (const char of text.normalize('NFC')) out += winAnsiChar(char);
  return out;
}

function winAnsiChar(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return ' ';
  if (code <= 0xff || WIN_ANSI_EXTRAS.has(char)) return char;
  return '?';
}

/** `text` cut to fit `maxWidth` points in the current font, ending with `…` when it was cut. */
export function fitText(doc: PDFKit.PDFDocument, text: string, maxWidth: number): string {
  if (doc.widthOfString(text) <= maxWidth) return text;
  const chars = Array.from(text);
  let keep = 0;
  let tooMany = chars.length;
  // Binary search for the longest prefix that still fits with the ellipsis.
  while (tooMany - keep > 1) {
    const mid = (keep + tooMany) >> 1;
    const candidate = chars.slice(0, mid).join('') + ELLIPSIS;
    if (doc.widthOfString(candidate) <= maxWidth) keep = mid;
    else tooMany = mid;
  }
  return chars.slice(0, keep).join('').trimEnd() + ELLIPSIS;
}

export function useStyle(doc: PDFKit.PDFDocument, style: TextStyle): void {
  doc.font(style.font).fontSize(style.size).fillColor(style.color);
}

/**
 * Writes one line of text at (x, y) without wrapping and without pdfkit's automatic page break,
 * so it is also safe inside the bottom margin (footers).
 */
export function put(doc: PDFKit.PDFDocument, text: string, x: number, y: number): void {
  doc.text(text, x, y, { lineBreak: false });
}

/** One line ending at `right`, cut with an ellipsis if wider than `maxWidth`. */
export function putRight(doc: PDFKit.PDFDocument, text: string, right: number, y: number, maxWidth = Infinity): void {
  const fitted = fitText(doc, toWinAnsi(text), maxWidth);
  put(doc, fitted, right - doc.widthOfString(fitted), y);
}

/** One line starting at `x`, cut with an ellipsis if wider than `maxWidth`. */
export function putLeft(doc: PDFKit.PDFDocument, text: string, x: number, y: number, maxWidth = Infinity): void {
  put(doc, fitText(doc, toWinAnsi(text), maxWidth), x, y);
}
