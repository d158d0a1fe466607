import PDFDocument from 'pdfkit';
import { fitText, toWinAnsi } from './pdf-text';

describe('toWinAnsi', () => {
  it.each([
    ['Crédit Étudiant', 'Crédit Étudiant'],
    ['Cre\u0301dit', 'Crédit'], // decomposed accent composed
    ['€ 5 — “quoted” …', '€ 5 — “quoted” …'],
    ['日本 offer', '?? offer'],
    ['rocket 🚀', 'rocket ?'],
    ['tab\there\nnew', 'tab here new'],
  ])('%j → %j', (input, expected) => {
    expect(toWinAnsi(input)).toBe(expected);
  });
});

describe('fitText', () => {
  const doc = new PDFDocument().font('Helvetica').fontSize(8);

  it('leaves text that fits alone', () => {
    expect(fitText(doc, 'VPN Annual', 100)).toBe('VPN Annual');
  });

  it('cuts long text to the width, ending in an ellipsis', () => {
    const long = 'Summer Sale — Shoes & Accessories Worldwide';
    const fitted = fitText(doc, long, 80);
    expect(fitted.endsWith('…')).toBe(true);
    expect(long.startsWith(fitted.slice(0, -1))).toBe(true);
    expect(doc.widthOfString(fitted)).toBeLessThanOrEqual(80);
    expect(doc.widthOfString(`${long.slice(0, fitted.length)}…`)).toBeGreaterThan(80);
  });

  it('drops the trailing space before the ellipsis', () => {
    expect(fitText(doc, 'aaaa bbbbbbbbbbbbbbbbbbbbbbbb', doc.widthOfString('aaaa b…') - 0.01)).toBe('aaaa…');
  });

  it('returns just the ellipsis when nothing else fits', () => {
    expect(fitText(doc, 'Wide', 1)).toBe('…');
  });
});
