import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Pool } from 'pg';
import { cloneTemplate, deleteRedisKeys } from '../../support/create-test-app';
import { databaseUrl, dropDatabase, randomSuffix, TEST_REDIS_URL } from '../../support/test-env';
import { call, client, Client } from './client';
import { DIST, freePort, waitFor } from './env';
import { Proc } from './processes';

export interface DeploymentOptions {
  /** Redis for every process of this deployment (a private server in the outage tests). */
  redisUrl?: string;
  /** A database URL to use as is (a private PostgreSQL); by default a clone of the migrated template. */
  databaseUrl?: string;
  env?: Record<string, string>;
}

export class ApiProc extends Proc {
  constructor(
    name: string,
    args: string[],
    env: Record<string, string>,
    readonly url: string,
  ) {
    super(name, process.execPath, args, env);
  }

  as(key?: string): Client {
    return client(this.url, key);
  }
}

/**
 * One Afflux installation made of real processes (`node dist/src/main.js`, `node
 * dist/src/worker.js`) sharing a database of its own and a Redis key prefix of its own, as
 * production runs them. Every line they print is kept; close() fails if any secret the
 * deployment knows appears in them.
 */
export class Deployment {
  readonly procs: Proc[] = [];
  readonly secrets = new Set<string>();
  readonly db: Pool;
  readonly adminKey = `afx_adm_${randomBytes(24).toString('base64url')}`;
  readonly queuePrefix = `afxfault_${randomSuffix()}`;
  readonly clickSecret = randomBytes(32).toString('hex');
  private readonly env: Record<string, string>;
  private started = 0;

  private constructor(
    readonly databaseUrl: string,
    private readonly ownDatabase: string | null,
    readonly redisUrl: string,
    env: Record<string, string>,
  ) {
    this.env = {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_SIZE: '8',
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: this.queuePrefix,
      ADMIN_API_KEY: this.adminKey,
      CLICK_SECRET: this.clickSecret,
      PUBLIC_BASE_URL: 'http://afflux.test',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      RUN_WORKERS: 'false',
      // A stop drains (health 503, still serving) before it closes: short here, so the suite stays quick.
      SHUTDOWN_DRAIN_MS: '500',
      ...env,
    };
    for (const name of ['ADMIN_API_KEY', 'CLICK_SECRET', 'STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET']) if (this.env[name]) this.secrets.add(this.env[name]);
    this.db = new Pool({ connectionString: databaseUrl, max: 4 });
    this.db.on('error', () => undefined);
  }

  static async create(options: DeploymentOptions = {}): Promise<Deployment> {
    let url = options.databaseUrl;
    let own: string | null = null;
    if (!url) {
      own = `afx_f_${process.env.AFX_TEST_RUN_ID}_${randomSuffix()}`;
      await cloneTemplate(own);
      url = databaseUrl(own);
    }
    return new Deployment(url, own, options.redisUrl ?? TEST_REDIS_URL, options.env ?? {});
  }

  /** Starts an API process and waits until it answers; `env` adds to the deployment's. */
  async api(env: Record<string, string> = {}): Promise<ApiProc> {
    const port = await freePort();
    const proc = new ApiProc(`api#${++this.started}`, [join(DIST, 'src/main.js')], { ...this.env, PORT: String(port), ...env }, `http://127.0.0.1:${port}`);
    this.procs.push(proc);
    await waitFor(
      `${proc.name} to answer /health/live`,
      async () => {
        if (!proc.running) throw new Error(`${proc.name} exited:\n${proc.tail()}`);
        return (await call(proc.url, 'GET', '/health/live', { timeoutMs: 1000 })).status === 200;
      },
      60_000,
      100,
    );
    return proc;
  }

  /** Starts a worker process (all BullMQ processors) and waits until it is up. */
  async worker(env: Record<string, string> = {}): Promise<Proc> {
    const proc = new Proc(`worker#${++this.started}`, process.execPath, [join(DIST, 'src/worker.js')], { ...this.env, RUN_WORKERS: 'true', WORKER_PORT: '0', ...env });
    this.procs.push(proc);
    await proc.waitForLine(/Afflux worker started/, 60_000);
    return proc;
  }

  /** Runs a CLI of the app (dist/src/<script>.js) to its end. */
  async cli(script: string, args: string[] = [], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
    const proc = new Proc(script, process.execPath, [join(DIST, `src/${script}.js`), ...args], { ...this.env, ...env });
    this.procs.push(proc);
    const { code } = await proc.exited;
    return { code, output: proc.lines.join('\n') };
  }

  remember(...secrets: (string | undefined)[]): void {
    for (const s of secrets) if (s) this.secrets.add(s);
  }

  /** Lines of any process of this deployment that contain a secret it knows (should be none). */
  leaks(): string[] {
    const secrets = [...this.secrets];
    return this.procs.flatMap((p) => p.lines.filter((line) => secrets.some((s) => line.includes(s))).map((line) => `${p.name}: ${line.slice(0, 300)}`));
  }

  async close(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.kill('SIGTERM', 15_000)));
    await this.db.end().catch(() => undefined);
    if (this.ownDatabase) await dropDatabase(this.ownDatabase);
    if (this.redisUrl === TEST_REDIS_URL) await deleteRedisKeys(`{${this.queuePrefix}}*`);
    const leaks = this.leaks();
    if (leaks.length) throw new Error(`secrets in the captured logs:\n${leaks.slice(0, 10).join('\n')}`);
  }

  async count(sql: string, params: unknown[] = []): Promise<number> {
    const { rows } = await this.db.query(sql, params);
    return Number(Object.values(rows[0] ?? { n: 0 })[0]);
  }
}
