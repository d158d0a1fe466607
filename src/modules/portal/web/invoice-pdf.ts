import PDFDocument from 'pdfkit';
import type { Invoice } from '../../billing/billing.entities';
import { formatDateTime, formatMoney, formatPeriod } from './format';
import { label } from './labels';

/**
 * An invoice of the network to an advertiser as a PDF (A4, built-in Helvetica): the period in the
 * reader's days, one line per offer and goal with its results and amount, the total, the status
 * and the Stripe invoice it was billed through. The figures are the invoice's own, as stored.
 */
export function renderInvoicePdf(invoice: Invoice, advertiserName: string, timeZone: string): PDFKit.PDFDocument {
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: 50, bottom: 50, left: 50, right: 50 },
    info: { Title: `Invoice ${invoice.stripeInvoiceId ?? invoice.id}`, Author: 'Afflux' },
  });
  const money = (amount: number) => formatMoney(amount, invoice.currency);
  const right = doc.page.width - 50;
  doc.font('Helvetica-Bold').fontSize(18).fillColor('#1b2430').text('Afflux', 50, 50);
  doc.font('Helvetica-Bold').fontSize(13).fillColor('#243b55').text('Invoice', 50, 80);
  doc.font('Helvetica').fontSize(10).fillColor('#1b2430');
  const facts: [string, string][] = [
    ['Billed to', advertiserName],
    ['Period', formatPeriod(invoice.periodFrom, invoice.periodTo, timeZone)],
    ['Status', label(invoice.status)],
    ['Stripe invoice', invoice.stripeInvoiceId ?? '—'],
    ['Issued', formatDateTime(invoice.finalizedAt ?? invoice.createdAt, timeZone)],
  ];
  let y = 110;
  for (const [name, value] of facts) {
    doc.fillColor('#667085').text(name, 50, y, { width: 110 });
    doc.fillColor('#1b2430').text(value, 160, y, { width: right - 160 });
    y += 16;
  }
  y += 14;
  const header = (text: string, x: number, width: number, align: 'left' | 'right' = 'left') => doc.text(text, x, y, { width, align });
  doc.font('Helvetica-Bold').fontSize(9).fillColor('#667085');
  header('OFFER', 50, 250);
  header('GOAL', 300, 90);
  header('RESULTS', 390, 60, 'right');
  header('AMOUNT', 450, right - 450, 'right');
  y += 14;
  doc.moveTo(50, y).lineTo(right, y).strokeColor('#c5ccd6').stroke();
  y += 6;
  doc.font('Helvetica').fontSize(10).fillColor('#1b2430');
  for (const line of invoice.lines) {
    if (y > doc.page.height - 100) {
      doc.addPage();
      y = 50;
    }
    const height = Math.max(doc.heightOfString(line.offerName, { width: 245 }), 12);
    doc.text(line.offerName, 50, y, { width: 245 });
    doc.text(line.goal, 300, y, { width: 90 });
    doc.text(String(line.conversions), 390, y, { width: 60, align: 'right' });
    doc.text(money(line.amount), 450, y, { width: right - 450, align: 'right' });
    y += height + 6;
  }
  doc.moveTo(50, y).lineTo(right, y).strokeColor('#c5ccd6').stroke();
  y += 8;
  doc.font('Helvetica-Bold').text(`Total (${invoice.conversions} results)`, 50, y, { width: 390 });
  doc.text(money(invoice.amount), 450, y, { width: right - 450, align: 'right' });
  doc
    .font('Helvetica')
    .fontSize(8)
    .fillColor('#667085')
    .text('Amounts in ' + invoice.currency + '. Pay through the Stripe invoice; this document repeats its figures.', 50, y + 30, { width: right - 50 });
  doc.end();
  return doc;
}
