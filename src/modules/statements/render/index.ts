export * from './statement.model';
export type { CsvColumn, CsvNumber, CsvValue, StatementCsvRow } from './csv';
export { CSV_EOL, STATEMENT_CSV_COLUMNS, StatementCsvWriter, csvAmount, csvCell, csvRow, renderSummaryCsv } from './csv';
export { formatDateTime, formatMoney, formatPeriod, groupThousands } from './format';
// Not renderStatementPdf: './pdf' loads pdfkit and its fonts (megabytes of heap), so it is
// imported only when a PDF is asked for.
