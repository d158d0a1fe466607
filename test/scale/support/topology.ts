import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { Client as PgClient } from 'pg';
import { call } from '../../faults/support/client';
import { freePort, sleep, waitFor } from '../../faults/support/env';
import { Proc } from '../../faults/support/processes';

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** A port `p` free now with `p + 10000` free too (a cluster node's bus port). */
async function clusterPort(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p + 10000 > 65535) continue;
    const { createServer } = await import('node:net');
    const free = await new Promise<boolean>((done) => {
      const s = createServer();
      s.once('error', () => done(false));
      s.listen(p + 10000, '127.0.0.1', () => s.close(() => done(true)));
    });
    if (free) return p;
  }
}

interface NodeInfo {
  port: number;
  id: string;
  role: 'master' | 'slave';
  slots: [number, number][];
}

/**
 * A Redis Cluster of 6 nodes on loopback (3 primaries, 3 replicas), each a `redis-server
 * --cluster-enabled yes` of its own in a temporary directory, joined by `redis-cli --cluster
 * create --cluster-replicas 1`. A short node timeout, so a killed primary's replica takes over
 * within seconds.
 */
export class RedisCluster {
  readonly nodes = new Map<number, Proc>();
  private readonly dir = mkdtempSync(join(tmpdir(), 'afx-cluster-'));
  private ports: number[] = [];

  static async start(size = 6): Promise<RedisCluster> {
    const cluster = new RedisCluster();
    for (let i = 0; i < size; i++) cluster.ports.push(await clusterPort());
    for (const port of cluster.ports) cluster.up(port);
    for (const port of cluster.ports) await waitFor(`redis ${port}`, () => cli(port, ['ping']) === 'PONG', 10_000, 50);
    execFileSync('redis-cli', ['--cluster', 'create', ...cluster.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'], {
      stdio: 'pipe',
      timeout: 60_000,
    });
    await cluster.waitHealthy();
    return cluster;
  }

  /** REDIS_CLUSTER_NODES for the app: every node (the client needs only one that answers). */
  get nodesSetting(): string {
    return this.ports.map((p) => `127.0.0.1:${p}`).join(',');
  }

  private up(port: number): void {
    const dir = join(this.dir, String(port));
    mkdirSync(dir, { recursive: true });
    // prettier-ignore
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', '2000', '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--dir', dir];
    this.nodes.set(port, new Proc(`redis:${port}`, 'redis-server', args, { PATH: process.env.PATH ?? '' }));
  }

  /** What each reachable node says about the cluster (CLUSTER NODES of the first that answers). */
  topology(): NodeInfo[] {
    for (const port of this.ports) {
      if (!this.nodes.get(port)?.running) continue;
      try {
        return cli(port, ['cluster', 'nodes'])
          .split('\n')
          .filter(Boolean)
          .map((line) => {
            const [id, address, flags, , , , , link, ...slots] = line.split(' ');
            return {
              id,
              port: Number(address.split('@')[0].split(':')[1]),
              role: flags.includes('master') ? 'master' : 'slave',
              failed: flags.includes('fail') || link !== 'connected',
              slots: slots.filter((s) => /^\d/.test(s)).map((s) => s.split('-').map(Number) as [number, number]),
            };
          })
          .filter((n) => !n.failed)
          .map(({ failed: _failed, ...n }) => n as NodeInfo);
      } catch {
        /* this node is going down: ask the next */
      }
    }
    throw new Error('no cluster node answers');
  }

  /** The primary that serves `key`'s slot now. */
  primaryOf(key: string): number {
    const slot = Number(cli(this.anyPort(), ['cluster', 'keyslot', key]));
    const owner = this.topology().find((n) => n.role === 'master' && n.slots.some(([a, b = a]) => slot >= a && slot <= b));
    if (!owner) throw new Error(`no primary serves slot ${slot}`);
    return owner.port;
  }

  /** Primaries and the hash tags of `tags` they serve, for the figures. */
  spread(tags: string[]): Record<number, string[]> {
    const out: Record<number, string[]> = {};
    for (const tag of tags) (out[this.primaryOf(tag)] ??= []).push(tag);
    return out;
  }

  /** kill -9 of one node, as a crashed machine. */
  async kill(port: number): Promise<void> {
    await this.nodes.get(port)?.kill('SIGKILL');
  }

  /** Starts a killed node again: it comes back as a replica of the primary that replaced it. */
  async restart(port: number): Promise<void> {
    this.up(port);
    await waitFor(`redis ${port} back`, () => cli(port, ['ping']) === 'PONG', 10_000, 50);
  }

  /** Every live node agrees the cluster is ok and every slot has a live primary. */
  async waitHealthy(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      'the Redis Cluster to be healthy',
      () =>
        this.ports.filter((p) => this.nodes.get(p)?.running).every((p) => /cluster_state:ok/.test(cli(p, ['cluster', 'info']))) &&
        this.topology()
          .filter((n) => n.role === 'master')
          .reduce((sum, n) => sum + n.slots.reduce((s, [a, b = a]) => s + b - a + 1, 0), 0) === 16384,
      timeoutMs,
      200,
    );
  }

  /** A client of the cluster for the test's own look-ups. */
  client(): Cluster {
    return new Cluster(
      this.ports.map((port) => ({ host: '127.0.0.1', port })),
      { retryDelayOnFailover: 200 },
    );
  }

  private anyPort(): number {
    const port = this.ports.find((p) => this.nodes.get(p)?.running);
    if (!port) throw new Error('no cluster node runs');
    return port;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((p) => p.kill('SIGKILL')));
    execFileSync('rm', ['-rf', this.dir]);
  }
}

function cli(port: number, args: string[]): string {
  return execFileSync('redis-cli', ['-p', String(port), ...args], { stdio: 'pipe', timeout: 5000 })
    .toString()
    .trim();
}

/**
 * A PostgreSQL primary of the test's own (initdb in a temporary directory, another port: the
 * shared server on 5432 is left alone) and a streaming replica of it (`pg_basebackup -R`) on a
 * third port. Both run as the postgres user, as PostgreSQL insists.
 */
export class PostgresPair {
  private constructor(
    private readonly dir: string,
    readonly primaryPort: number,
    readonly replicaPort: number,
  ) {}

  static async start(): Promise<PostgresPair> {
    const dir = mkdtempSync(join(tmpdir(), 'afx-pgpair-'));
    chownSync(dir, uid('-u'), uid('-g'));
    const pair = new PostgresPair(dir, await freePort(), await freePort());
    asPostgres(`${PG_BIN}/initdb`, ['-D', pair.data('primary'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    // initdb's pg_hba.conf already trusts replication connections from 127.0.0.1; wal_level is replica by default.
    pair.ctl('primary', ['start', '-w', '-l', join(dir, 'primary.log'), '-o', pair.options(pair.primaryPort, '-c max_wal_senders=4 -c wal_keep_size=256MB')]);
    asPostgres(`${PG_BIN}/pg_basebackup`, ['-h', '127.0.0.1', '-p', String(pair.primaryPort), '-U', 'postgres', '-D', pair.data('replica'), '-R', '-X', 'stream', '-c', 'fast']);
    pair.startReplica();
    return pair;
  }

  url(database: string, replica = false): string {
    return `postgres://postgres@127.0.0.1:${replica ? this.replicaPort : this.primaryPort}/${database}`;
  }

  startReplica(): void {
    this.ctl('replica', ['start', '-w', '-l', join(this.dir, 'replica.log'), '-o', this.options(this.replicaPort, '-c hot_standby=on')]);
  }

  /** A clean, fast stop of the replica (its connections are cut), as an operator or a failing host would. */
  stopReplica(): void {
    this.ctl('replica', ['stop', '-m', 'fast', '-w']);
  }

  /** Bytes of WAL the replica has yet to replay (0 when caught up). */
  async replicaLag(): Promise<number> {
    const c = new PgClient({ connectionString: this.url('postgres') });
    await c.connect();
    try {
      const { rows } = await c.query(`SELECT coalesce(sum(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), -1)::bigint AS lag FROM pg_stat_replication`);
      return Number(rows[0].lag);
    } finally {
      await c.end();
    }
  }

  async waitCaughtUp(): Promise<void> {
    await waitFor('the replica to catch up', async () => (await this.replicaLag()) === 0, 60_000, 100);
  }

  async stop(): Promise<void> {
    for (const which of ['replica', 'primary'] as const) {
      try {
        this.ctl(which, ['stop', '-m', 'immediate', '-w']);
      } catch {
        /* already stopped */
      }
    }
    execFileSync('rm', ['-rf', this.dir]);
  }

  private data(which: 'primary' | 'replica'): string {
    return join(this.dir, which);
  }

  private options(port: number, extra: string): string {
    return `-p ${port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 ${extra}`;
  }

  private ctl(which: 'primary' | 'replica', args: string[]): void {
    asPostgres(`${PG_BIN}/pg_ctl`, ['-D', this.data(which), ...args]);
  }
}

function uid(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, 'postgres']).toString());
}

function asPostgres(command: string, args: string[]): void {
  execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'pipe', timeout: 120_000 });
}

/**
 * HAProxy in front of the API processes, on one port: round robin, each server health-checked
 * on GET /health every second (down after 3 failures of 3 s at most), a request whose connection is refused or
 * cut before an answer retried on another server. Each answer names its server (x-served-by),
 * so the test knows which process answered which click.
 */
export class LoadBalancer {
  private proc: Proc | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'afx-haproxy-'));

  private constructor(readonly port: number) {}

  static async start(): Promise<LoadBalancer> {
    return new LoadBalancer(await freePort());
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** (Re)starts HAProxy with these backends and waits until `expectUp` of them pass their health check. */
  async serve(backends: { name: string; url: string }[], expectUp = backends.length): Promise<void> {
    await this.proc?.kill('SIGTERM', 5000);
    const file = join(this.dir, 'haproxy.cfg');
    writeFileSync(file, haproxyConfig(`127.0.0.1:${this.port}`, backends));
    this.proc = new Proc('haproxy', 'haproxy', ['-db', '-f', file], { PATH: process.env.PATH ?? '' });
    await waitFor(
      `haproxy to see ${expectUp} healthy API processes`,
      async () => {
        if (!this.proc?.running) throw new Error(`haproxy exited:\n${this.proc?.tail()}`);
        const seen = new Set<string>();
        for (let i = 0; i < backends.length * 4; i++) {
          const res = await call(this.url, 'GET', '/health/live', { timeoutMs: 2000 }).catch(() => null);
          if (res?.status === 200) seen.add(res.headers.get('x-served-by') ?? '');
        }
        return seen.size >= expectUp;
      },
      30_000,
      250,
    );
  }

  async stop(): Promise<void> {
    await this.proc?.kill('SIGTERM', 5000);
    await sleep(0);
    execFileSync('rm', ['-rf', this.dir]);
  }
}

/** The HAProxy configuration; docker/scale/haproxy.cfg is this one for the compose services (test/architecture checks). */
export function haproxyConfig(bind: string, backends: { name: string; url: string }[]): string {
  return `global
  maxconn 4096

defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout check 3s
  retries 3
  option redispatch
  retry-on conn-failure empty-response response-timeout

frontend api
  bind ${bind}
  default_backend apis

backend apis
  balance roundrobin
  option httpchk GET /health
  http-check expect status 200
  default-server inter 1s fall 3 rise 2
  http-response set-header x-served-by %s
${backends.map((b) => `  server ${b.name} ${new URL(b.url).host} check`).join('\n')}
`;
}
