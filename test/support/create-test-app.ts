import { NestFastifyApplication } from '@nestjs/platform-fastify';
import IORedis from 'ioredis';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { DataSource } from 'typeorm';
import { createApp } from '../../src/app.setup';
import { PinoLoggerService } from '../../src/common/logging/pino-logger';
import { PrincipalsService } from '../../src/modules/principals/principals.service';
import { databaseUrl, dropDatabase, randomSuffix, TEST_REDIS_URL, withAdminClient } from './test-env';

export interface TestApp {
  app: NestFastifyApplication;
  http: TestAgent;
  dataSource: DataSource;
  adminKey: string;
  databaseName: string;
  queuePrefix: string;
  /** http://127.0.0.1:<port> when started with `listen`. */
  baseUrl: string;
  env: Record<string, string>;
  /** Log lines the app wrote, for tests that check what is (never) logged. */
  logs: string[];
  close(): Promise<void>;
}

export interface TestAppOptions {
  workers?: boolean;
  /** Listen on a loopback port (for callers outside the process: webhooks from the Stripe emulator). */
  listen?: boolean;
  env?: Record<string, string | undefined>;
  /** A second process of the same deployment: its database, Redis prefix and admin key (closing it keeps them). */
  sharing?: TestApp;
  /** Start on another app's database, Redis prefix, keys and settings (a restart: close that app's `app` first). */
  reuse?: Pick<TestApp, 'databaseName' | 'queuePrefix' | 'adminKey' | 'env'>;
}

export async function cloneTemplate(name: string): Promise<void> {
  const template = process.env.AFX_TEST_TEMPLATE_DB;
  if (!template) throw new Error('AFX_TEST_TEMPLATE_DB is not set: run the tests through jest (globalSetup)');
  // Two files cloning the template at the same instant collide; the loser retries.
  for (let attempt = 0; ; attempt++) {
    try {
      await withAdminClient((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
      return;
    } catch (error) {
      if (attempt >= 20 || !/being accessed by other users/.test((error as Error).message)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
    }
  }
}

/** Boots the whole AppModule in this process against a database and Redis prefix of its own. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const suffix = randomSuffix();
  const { reuse } = options;
  const base = options.sharing ?? reuse;
  const databaseName = base?.databaseName ?? `afx_t_${process.env.AFX_TEST_RUN_ID}_${suffix}`;
  if (!base) await cloneTemplate(databaseName);
  const queuePrefix = base?.queuePrefix ?? `afxtest_${suffix}`;
  const adminKey = options.env?.ADMIN_API_KEY ?? base?.adminKey ?? `afx_adm_${randomBytes(24).toString('base64url')}`;
  const env: Record<string, string> = reuse
    ? { ...reuse.env }
    : {
        NODE_ENV: 'test',
        DATABASE_URL: databaseUrl(databaseName),
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: queuePrefix,
        ADMIN_API_KEY: adminKey,
        PUBLIC_BASE_URL: 'http://afflux.test',
        CLICK_SECRET: options.sharing?.env.CLICK_SECRET ?? randomBytes(32).toString('hex'),
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
        RUN_WORKERS: String(options.workers ?? false),
      };
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  resetProcessEnv(env);

  const logs: string[] = [];
  const logger = new PinoLoggerService(env.LOG_LEVEL, { write: (line: string) => logs.push(line) } as pino.DestinationStream);
  const app = await createApp({ workers: env.RUN_WORKERS === 'true', logger, bodyLimitBytes: 1024 * 1024 });
  let baseUrl = '';
  if (options.listen) {
    await app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = await app.getUrl();
  } else {
    await app.init();
  }
  await app.getHttpAdapter().getInstance().ready();
  await app.get(PrincipalsService).bootstrapAdmin(adminKey);

  return {
    app,
    http: request(app.getHttpServer()),
    dataSource: app.get(DataSource),
    adminKey,
    databaseName,
    queuePrefix,
    baseUrl: baseUrl.replace('[::1]', '127.0.0.1'),
    env,
    logs,
    async close() {
      await app.close();
      if (options.sharing) return;
      await dropDatabase(databaseName);
      await deleteRedisKeys(`{${queuePrefix}}*`);
    },
  };
}

/**
 * Test files share a worker process, and so process.env: each app starts from the environment
 * the worker began with plus its own settings, never the previous file's.
 */
function resetProcessEnv(settings: Record<string, string>): void {
  const holder = globalThis as { __afxOriginalEnv?: Record<string, string | undefined> };
  holder.__afxOriginalEnv ??= { ...process.env };
  for (const key of Object.keys(process.env)) if (!(key in holder.__afxOriginalEnv)) delete process.env[key];
  for (const key of ['STRIPE_SECRET_KEY', 'STRIPE_API_URL', 'STRIPE_WEBHOOK_SECRET', 'DATABASE_REPLICA_URL']) delete process.env[key];
  Object.assign(process.env, settings);
}

export async function deleteRedisKeys(pattern: string): Promise<void> {
  const redis = new IORedis(TEST_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
