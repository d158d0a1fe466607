import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * One line of the results: our figure beside its baseline from the same run. `ratio` is
 * ours ÷ baseline for rates and baseline ÷ ours for times, so that higher is always better;
 * `pass` is null where the figure is recorded without a target (or could not be measured).
 */
export interface Figure {
  name: string;
  ours: number | null;
  baseline: number | null;
  ratio: number | null;
  target: string;
  pass: boolean | null;
  p50?: number;
  p99?: number;
  unit?: string;
  baselineUnit?: string;
  note?: string;
}

export function ratioOf(ours: number | null, baseline: number | null): number | null {
  if (ours === null || baseline === null || baseline === 0) return null;
  return round(ours / baseline, 3);
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function show(value: number | null | undefined, unit = ''): string {
  if (value === null || value === undefined) return '—';
  const text = Math.abs(value) >= 1000 ? Math.round(value).toLocaleString('en-US') : String(round(value, Math.abs(value) < 10 ? 2 : 1));
  return unit ? `${text} ${unit}` : text;
}

function verdict(f: Figure): string {
  if (f.pass === true) return 'pass';
  if (f.pass === false) return 'FAIL';
  return f.ours === null ? 'n/a' : 'info';
}

/** The results as rows of cells: figure, ours, baseline, ratio, target, result. */
export function rows(figures: Figure[]): string[][] {
  return figures.map((f) => [
    f.name,
    show(f.ours, f.unit) + (f.p99 !== undefined ? ` (p50 ${show(f.p50)} / p99 ${show(f.p99)} ms)` : ''),
    show(f.baseline, f.baselineUnit ?? f.unit),
    f.ratio === null ? '—' : `${round(f.ratio, 2)}×`,
    f.target,
    verdict(f),
  ]);
}

const HEAD = ['figure', 'ours', 'baseline', 'ratio', 'target', 'result'];

/** A plain-text table for the terminal. */
export function textTable(figures: Figure[]): string {
  const all = [HEAD, ...rows(figures)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const out = [line(HEAD), widths.map((w) => '─'.repeat(w)).join('  '), ...rows(figures).map(line)];
  const notes = figures.filter((f) => f.note).map((f) => `  · ${f.name}: ${f.note}`);
  return [...out, ...(notes.length ? ['', 'notes:', ...notes] : [])].join('\n');
}

/** The same table in Markdown, for bench/README.md. */
export function markdownTable(figures: Figure[]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  const out = [`| ${HEAD.join(' | ')} |`, `|${HEAD.map(() => '---').join('|')}|`, ...rows(figures).map((r) => `| ${r.map(esc).join(' | ')} |`)];
  const notes = figures.filter((f) => f.note).map((f) => `- **${f.name}**: ${f.note}`);
  return [...out, ...(notes.length ? ['', ...notes] : [])].join('\n');
}

/** results.json: one object per figure. */
export function writeJson(path: string, figures: Figure[]): void {
  writeFileSync(path, `${JSON.stringify(figures, null, 2)}\n`);
}

const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

/** Replaces the results block of bench/README.md (between its markers), if the file has one. */
export function updateReadme(path: string, heading: string, figures: Figure[]): boolean {
  if (!existsSync(path)) return false;
  const text = readFileSync(path, 'utf8');
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  if (from < 0 || to < from) return false;
  writeFileSync(path, `${text.slice(0, from + START.length)}\n${heading}\n\n${markdownTable(figures)}\n${text.slice(to)}`);
  return true;
}
