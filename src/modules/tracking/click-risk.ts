import { asnTable } from '../../common/risk/asn';
import { ClickSignalInput, scoreClickBatch } from '../../common/risk/click-signals';
import type { Risk } from '../../common/risk/risk';

/**
 * Sets `risk` on the clicks of a batch that have none yet, from the batch alone (README,
 * "Traffic quality"): called by the click buffer when it writes, never on the redirect. The ASN
 * data is loaded once per process (at start in a process that serves redirects).
 */
export async function fillClickRisk(clicks: (ClickSignalInput & { risk?: Risk })[]): Promise<void> {
  const unscored = clicks.filter((c) => c.risk === undefined);
  if (unscored.length === 0) return;
  const risks = scoreClickBatch(unscored, await asnTable());
  unscored.forEach((click, i) => (click.risk = risks[i]));
}
