import { dropDatabase, withAdminClient } from './test-env';

/** Drops the template and any database of this run a crashed test file left behind. */
export default async function globalTeardown(): Promise<void> {
  const runId = process.env.AFX_TEST_RUN_ID;
  if (!runId) return;
  const { rows } = await withAdminClient((c) => c.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`afx_%${runId}%`]));
  for (const { datname } of rows) await dropDatabase(datname);
}
