import type { Pool } from 'pg';
import { waitFor } from './env';

export interface PayoutRunRow {
  status: string;
  done_count: number;
  failed_count: number;
  total_count: number;
}

/** Waits for payout run `runId` to complete (a failed run throws at once) and answers its counts. */
export function payoutRunCompleted(db: Pool, runId: string, timeoutMs: number): Promise<PayoutRunRow> {
  return waitFor(
    'the payout run to complete',
    async () => {
      const {
        rows: [r],
      } = await db.query<PayoutRunRow>(`SELECT status, done_count, failed_count, total_count FROM payout_runs WHERE id = $1`, [runId]);
      if (r.status === 'failed') throw new Error(`run failed: ${JSON.stringify(r)}`);
      return r.status === 'completed' ? r : null;
    },
    timeoutMs,
    100,
  );
}
