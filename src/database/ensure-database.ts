import { Client } from 'pg';

export class DependencyUnavailableError extends Error {}

function describe(url: string) {
  const u = new URL(url);
  return { host: u.hostname || '127.0.0.1', port: u.port || '5432', database: decodeURIComponent(u.pathname.slice(1)) };
}

/**
 * Makes sure the database exists (creating it if the server is reachable and it is missing),
 * and turns "cannot connect" into one line that says where and how to start PostgreSQL.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const { host, port, database } = describe(url);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new DependencyUnavailableError(
      `PostgreSQL is not reachable at ${host}:${port} (${(error as Error).message}); start it (for example: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set DATABASE_URL`,
    );
  }
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created meanwhile by another process
      });
    }
  } finally {
    await client.end();
  }
}
