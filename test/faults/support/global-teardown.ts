import rootTeardown from '../../support/global-teardown';
import { readFigures } from './figures';

/** The root teardown, then the suite's figures: what was injected, fuzzed, checked, and what was lost (zero). */
export default async function globalTeardown(): Promise<void> {
  await rootTeardown();
  const figures = readFigures();
  const width = Math.max(0, ...Object.keys(figures).map((k) => k.length));
  process.stdout.write(
    `\nfaults suite figures:\n${Object.entries(figures)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)
      .join('\n')}\n`,
  );
}
