import { rawCommissionInsert } from '../baselines/commission-insert';
import { waitFor } from '../lib/proc';
import { profiled } from '../lib/profiling';
import { ratioOf, round } from '../lib/results';
import type { Stack } from '../lib/stack';
import type { Ingested } from './postback';

const RATIO_TARGET = 0.6;

async function posted(stack: Stack, ids: string[]): Promise<number> {
  return (await stack.db.query(`SELECT count(*)::int AS n FROM journal_entries WHERE cause_type = 'conversion' AND kind = 'commission' AND cause_id = ANY($1::text[])`, [ids]))
    .rows[0].n;
}

/**
 * The conversions the postback workload accepted wait in the paused commissions queue. The
 * baseline writes their ledger rows with batched INSERTs (and rolls back); then the queue
 * resumes and the worker posts them through the outbox → BullMQ → CommissionsService path.
 */
export async function commissionsWorkload(stack: Stack, ingested: Ingested): Promise<void> {
  const ids = ingested.conversionIds;
  if (ids.length === 0) throw new Error('no pending conversions to post (the postback workload accepted none)');
  if ((await posted(stack, ids)) !== 0) throw new Error('some conversions were posted before the measurement: was the commissions queue paused?');

  stack.progress.phase(`commission posting: baseline (batched INSERT of ${ids.length} entries)`);
  const baseSeconds = await rawCommissionInsert(stack.db, ids, (done) => stack.progress.update(`${done}/${ids.length}`));
  const baseRate = ids.length / baseSeconds;

  stack.progress.phase(`commission posting: ours (worker posts ${ids.length} conversions)`);
  let started = process.hrtime.bigint();
  let done = 0;
  await profiled(stack, stack.worker, 'commission-worker', async () => {
    started = process.hrtime.bigint();
    await stack.queue('commissions').resume();
    await waitFor(
      'the commission jobs',
      async () => {
        done = await posted(stack, ids);
        stack.progress.update(`${done}/${ids.length} posted`);
        return done >= ids.length;
      },
      stack.options.quick ? 60_000 : 600_000,
      100,
      stack.worker,
    );
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rate = ids.length / seconds;
  const ratio = ratioOf(rate, baseRate);
  stack.record({
    name: 'commission posting (conversions → ledger)',
    ours: round(rate),
    baseline: round(baseRate),
    ratio,
    target: `≥ ${RATIO_TARGET}×`,
    pass: ratio !== null && ratio >= RATIO_TARGET,
    unit: 'conv/s',
    note: `${ids.length} conversions: ours ${round(seconds, 2)} s, baseline ${round(baseSeconds, 2)} s`,
  });
  await stack.queue('postbacks').resume();
  stack.progress.phase('settling queues');
  await stack.settle();
}
