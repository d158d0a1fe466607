import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DataSource } from 'typeorm';

const TTL_MS = 8 * 3600 * 1000;

/** A secret the service generates once and keeps in app_settings: every process reads the same. */
export async function loadOrCreateSetting(dataSource: DataSource, key: string): Promise<string> {
  await dataSource.query(`INSERT INTO app_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [key, randomBytes(32).toString('base64url')]);
  const [row] = await dataSource.query(`SELECT value FROM app_settings WHERE key = $1`, [key]);
  return row.value as string;
}

/**
 * Signed session cookies for the queue dashboard: `<api key id>.<expiry ms>.<hmac>`. The key id
 * is checked against revocation on every request, so revoking the key ends the session.
 */
export class BoardSessions {
  constructor(private readonly secret: string) {}

  issue(keyId: string, now = Date.now()): string {
    const body = `${keyId}.${now + TTL_MS}`;
    return `${body}.${this.sign(body)}`;
  }

  verify(token: string | undefined, now = Date.now()): string | null {
    const parts = token?.split('.');
    if (!parts || parts.length !== 3) return null;
    const [keyId, expires, signature] = parts;
    const expected = Buffer.from(this.sign(`${keyId}.${expires}`));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    return Number(expires) > now ? keyId : null;
  }

  get maxAgeSeconds(): number {
    return TTL_MS / 1000;
  }

  private sign(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url');
  }
}
