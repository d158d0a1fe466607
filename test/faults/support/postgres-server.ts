import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './env';

const BIN = '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL cluster of this test's own (initdb into a temporary directory, another port), so
 * restarting it disturbs no other test run. Run as the postgres user, as PostgreSQL insists.
 */
export class PrivatePostgres {
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'afx-pg-'));
    chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
    const pg = new PrivatePostgres(await freePort(), dir);
    pg.asPostgres(`${BIN}/initdb`, ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    pg.up();
    return pg;
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  up(): void {
    this.ctl(['start', '-w', '-l', join(this.dir, 'log'), '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`]);
  }

  /** Stops at once (in-flight transactions are cut), as a crash or a failover would. */
  down(): void {
    this.ctl(['stop', '-m', 'immediate', '-w']);
  }

  destroy(): void {
    try {
      this.down();
    } catch {
      /* already stopped */
    }
    execFileSync('rm', ['-rf', this.dir]);
  }

  private ctl(args: string[]): void {
    this.asPostgres(`${BIN}/pg_ctl`, ['-D', join(this.dir, 'data'), ...args]);
  }

  private asPostgres(command: string, args: string[]): void {
    execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'pipe', timeout: 60_000 });
  }
}
