import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

/** Where each test file leaves its figures; the suite's teardown adds them up for the closing report. */
export const FIGURES_DIR = resolve(__dirname, '../../artifacts/faults-figures');

/** Adds `value` to the figure `name` of the current test file. */
export function addFigure(name: string, value: number): void {
  mkdirSync(FIGURES_DIR, { recursive: true });
  const file = join(FIGURES_DIR, `${basename(expect.getState().testPath ?? 'unknown')}.json`);
  let figures: Record<string, number> = {};
  try {
    figures = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    /* first figure of this file */
  }
  figures[name] = (figures[name] ?? 0) + value;
  writeFileSync(file, JSON.stringify(figures, null, 2));
}

export function resetFigures(): void {
  rmSync(FIGURES_DIR, { recursive: true, force: true });
}

export function readFigures(): Record<string, number> {
  const total: Record<string, number> = {};
  let files: string[] = [];
  try {
    files = readdirSync(FIGURES_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return total;
  }
  for (const f of files) {
    for (const [name, value] of Object.entries(JSON.parse(readFileSync(join(FIGURES_DIR, f), 'utf8')) as Record<string, number>)) total[name] = (total[name] ?? 0) + value;
  }
  return total;
}
