import { EntityManager } from 'typeorm';
import { FLOOD_LIMITS, FloodLimits, ipFlood, subFlood } from '../../common/risk/click-signals';
import { riskOf } from '../../common/risk/risk';
import { trackingRepository } from './tracking.repository';

/** Most clicks one run re-scores; the rest wait for the next run. */
const MAX_FLAGGED = 20_000;

/**
 * Floods that build up over many click batches (README, "Traffic quality"): the clicks of the last
 * hour from an IP (per affiliate) or on a sub id (per link) beyond the hourly limit get `ip_flood`
 * or `sub_flood` and their score raised. Run by the quality job, off the click path; answers how
 * many clicks it marked.
 */
export async function markClickFloods(manager: EntityManager, limits: FloodLimits = FLOOD_LIMITS): Promise<number> {
  const rows = await trackingRepository.floodedClicks(manager, limits.ipClicksPerHour, limits.subClicksPerHour, MAX_FLAGGED);
  if (rows.length === 0) return 0;
  const risks = rows.map((r) =>
    riskOf(r.risk_reasons, [r.ip_clicks !== null ? ipFlood(r.ip_clicks, limits) : null, r.sub_clicks !== null ? subFlood(r.sub1 ?? '', r.sub_clicks, limits) : null]),
  );
  await trackingRepository.setClickRisks(manager, rows, risks);
  return rows.length;
}
