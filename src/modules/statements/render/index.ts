export * from './statement.model';
export type { CsvColumn, CsvNumber, CsvValue, StatementCsvRow } from './csv';
export { CSV_EOL, STATEMENT_CSV_COLUMNS, StatementCsvStream, csvAmount, csvCell, csvRow, renderSummaryCsv } from './csv';
export { formatDateTime, formatMoney, formatPeriod, groupThousands } from './format';
export { renderStatementPdf } from './pdf';
