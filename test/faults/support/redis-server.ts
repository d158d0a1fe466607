import IORedis from 'ioredis';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './env';
import { Proc } from './processes';

/**
 * A Redis server of this test's own, on a port of its own, so stopping it disturbs no other
 * test run (the shared one on 6379 stays up). Append-only file synced on every write, as a
 * production Redis holding queues runs: a killed server comes back with its data.
 */
export class PrivateRedis {
  private proc: Proc | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'afx-redis-'));

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.up();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    this.proc = new Proc(
      `redis:${this.port}`,
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir],
      { PATH: process.env.PATH ?? '' },
    );
    await waitFor(
      `redis on ${this.port}`,
      async () => {
        const client = new IORedis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        client.on('error', () => undefined);
        try {
          await client.connect();
          return (await client.ping()) === 'PONG';
        } finally {
          client.disconnect();
        }
      },
      10_000,
    );
  }

  /** Stops it hard, as a crashed or unreachable Redis. */
  async down(): Promise<void> {
    await this.proc?.kill('SIGKILL');
    this.proc = null;
  }
}
