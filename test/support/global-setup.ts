import { prepareDatabase } from '../../src/database/prepare';
import { databaseUrl, randomSuffix } from './test-env';

/**
 * Runs the migrations once into a template database; each test file then clones it
 * (CREATE DATABASE … TEMPLATE), which takes milliseconds instead of a migration run.
 */
export default async function globalSetup(): Promise<void> {
  const runId = `${Date.now().toString(36)}_${randomSuffix()}`;
  const template = `afx_tpl_${runId}`;
  await prepareDatabase(databaseUrl(template));
  process.env.AFX_TEST_RUN_ID = runId;
  process.env.AFX_TEST_TEMPLATE_DB = template;
}
