import { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Pool } from 'pg';
import { Api } from './http';
import { freePort, Service, startNode, waitFor, waitForHttp } from './proc';
import { Progress } from './progress';
import type { Figure } from './results';

export interface Options {
  quick: boolean;
  only: Set<string> | null;
  profile: boolean;
  keep: boolean;
}

/** Where the run lives: its own database, Redis prefix, ports, and a private copy of the build. */
export interface RunPaths {
  id: string;
  repo: string;
  /** bench/.run/<id>: logs, profiles, the copy of dist the services run from. */
  runDir: string;
  /** The private copy of dist (a concurrent `npm run build` elsewhere cannot pull it away). */
  dist: string;
  serverUrl: string;
  dbName: string;
  dbUrl: string;
  redisUrl: string;
  prefix: string;
}

export const QUEUE_NAMES = ['outbox', 'commissions', 'postbacks', 'payouts', 'billing', 'maintenance'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export const WEBHOOK_SECRET = 'whsec_bench_0123456789abcdef';
export const STRIPE_KEY = 'sk_test_afflux_bench';

/**
 * The service as a user runs it: `node dist/src/main.js` (RUN_WORKERS=false) and
 * `node dist/src/worker.js`, plus the Stripe emulator, all from the run's copy of the build.
 */
export class Stack {
  readonly adminKey = `afx_adm_${randomBytes(24).toString('base64url')}`;
  api!: Service;
  worker!: Service;
  emulator!: Service;
  apiPort = 0;
  stripePort = 0;
  readonly figures: Figure[] = [];
  /** CPU profile summaries taken with --profile, printed at the end. */
  readonly profiles: { label: string; text: string }[] = [];
  private readonly queues = new Map<QueueName, Queue>();
  private apiStarts = 0;

  constructor(
    readonly options: Options,
    readonly paths: RunPaths,
    readonly progress: Progress,
    readonly db: Pool,
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  get stripeUrl(): string {
    return `http://127.0.0.1:${this.stripePort}`;
  }

  /** The admin client of the real API. */
  get admin(): Api {
    return new Api(this.baseUrl, this.adminKey);
  }

  script(path: string): string {
    return join(this.paths.dist, path);
  }

  /** The environment of the API and worker processes (README, Configuration), production mode. */
  env(port: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    // The worker and the CLIs listen nowhere; their links point at the main API.
    port ||= this.apiPort || 3000;
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TZ: 'UTC',
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: this.paths.dbUrl,
      REDIS_URL: this.paths.redisUrl,
      QUEUE_PREFIX: this.paths.prefix,
      ADMIN_API_KEY: this.adminKey,
      STRIPE_SECRET_KEY: STRIPE_KEY,
      STRIPE_API_URL: this.stripeUrl,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      LOG_LEVEL: 'info',
      // Every client of the bench is one address, and the payees' seeding uses 32 fresh API keys at
      // once: each spends one of its address' allowance of unknown keys (RATE_LIMIT_KEY_FAILURES,
      // 20 a minute) until its lookup finds it, so 32 at once from one address were refused.
      RATE_LIMIT_KEY_FAILURES: '1000',
      // A SIGTERM drains this long (health 503, still serving) before the API closes.
      SHUTDOWN_DRAIN_MS: '1000',
      // To try V8 settings on the services (e.g. --max-semi-space-size=32): BENCH_NODE_OPTIONS.
      ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
      ...extra,
    };
  }

  /** Picks the ports of the API and the emulator (they name each other in their settings). */
  async init(): Promise<void> {
    this.stripePort = await freePort();
    this.apiPort = await freePort();
  }

  async startEmulator(): Promise<void> {
    this.emulator = startNode('stripe-emulator', this.script('test/support/stripe-emulator/main.js'), {
      args: ['--port', String(this.stripePort), '--webhook-url', `${this.baseUrl}/webhooks/stripe`, '--webhook-secret', WEBHOOK_SECRET, '--api-key', STRIPE_KEY],
      env: { PATH: process.env.PATH, NODE_ENV: 'production' },
      logFile: join(this.paths.runDir, 'stripe-emulator.log'),
      cwd: this.paths.repo,
    });
    await waitForHttp(`${this.stripeUrl}/__emulator/state`, 20_000, this.emulator);
  }

  /** Starts an API process on `port` (the main one by default) and waits until /health answers 200. */
  async startApi(port = this.apiPort, name = 'api'): Promise<Service> {
    const profiling = this.profiling();
    const service = startNode(name, this.script('src/main.js'), {
      nodeArgs: profiling.nodeArgs,
      env: this.env(port, { RUN_WORKERS: 'false', ...profiling.env }),
      logFile: join(this.paths.runDir, `${name}-${++this.apiStarts}.log`),
      cwd: this.paths.repo,
    });
    await waitForHttp(`http://127.0.0.1:${port}/health`, 60_000, service);
    if (port === this.apiPort) this.api = service;
    return service;
  }

  /** `-r` the profiling hook and tell it where to write, with --profile. */
  private profiling(): { nodeArgs: string[]; env: NodeJS.ProcessEnv } {
    if (!this.options.profile) return { nodeArgs: [], env: {} };
    return { nodeArgs: ['-r', this.script('bench/lib/cpu-profile-hook.js')], env: { BENCH_CPU_PROFILE_DIR: join(this.paths.runDir, 'profiles') } };
  }

  async startWorker(): Promise<void> {
    const profiling = this.profiling();
    this.worker = startNode('worker', this.script('src/worker.js'), {
      nodeArgs: profiling.nodeArgs,
      env: this.env(0, { RUN_WORKERS: 'true', WORKER_PORT: '0', ...profiling.env }),
      logFile: join(this.paths.runDir, 'worker.log'),
      cwd: this.paths.repo,
    });
    const commissions = this.queue('commissions');
    await waitFor('the worker to take jobs', async () => (await commissions.getWorkersCount()) > 0, 60_000, 250, this.worker);
  }

  /** A handle on one of the app's BullMQ queues (same prefix and hash tag as the app). */
  queue(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      const u = new URL(this.paths.redisUrl);
      queue = new Queue(name, { prefix: `{${this.paths.prefix}}`, connection: { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null } });
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Jobs not yet finished in a queue (waiting, paused, delayed, active, prioritized). */
  async pending(name: QueueName): Promise<number> {
    const counts = await this.queue(name).getJobCounts('wait', 'delayed', 'active', 'prioritized');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  /** Waits until the outbox is relayed and the named queues hold nothing (or only delayed retries). */
  async settle(names: QueueName[] = ['commissions', 'postbacks', 'billing', 'payouts'], timeoutMs = 300_000): Promise<void> {
    await waitFor(
      'the outbox and queues to drain',
      async () => {
        const [{ n }] = (await this.db.query(`SELECT count(*)::int AS n FROM outbox WHERE relayed_at IS NULL`)).rows;
        if (n > 0) {
          this.progress.update(`${n} outbox rows to relay`);
          return false;
        }
        let left = 0;
        for (const name of names) {
          const c = await this.queue(name).getJobCounts('wait', 'active', 'prioritized');
          left += Object.values(c).reduce((a, b) => a + b, 0);
        }
        this.progress.update(`${left} jobs left`);
        return left === 0;
      },
      timeoutMs,
      250,
    );
  }

  async closeQueues(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    this.queues.clear();
  }

  record(figure: Figure): void {
    this.figures.push(figure);
    const verdict = figure.pass === true ? 'pass' : figure.pass === false ? 'FAIL' : 'info';
    const ours = figure.ours === null ? 'n/a' : `${Math.round(figure.ours * 100) / 100}${figure.unit ? ` ${figure.unit}` : ''}`;
    const base =
      figure.baseline === null ? '' : ` vs ${Math.round(figure.baseline * 100) / 100}${(figure.baselineUnit ?? figure.unit) ? ` ${figure.baselineUnit ?? figure.unit}` : ''}`;
    this.progress.log(`  ${verdict.padEnd(4)} ${figure.name}: ${ours}${base}${figure.ratio !== null ? ` (${figure.ratio}×)` : ''}${figure.note ? ` — ${figure.note}` : ''}`);
  }

  wants(workload: string): boolean {
    return !this.options.only || this.options.only.has(workload);
  }
}
