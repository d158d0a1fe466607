import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Config } from '../../config/configuration';
import { ClickIdCodec, VerifiedClickId } from './click-id';
import type { ClickStatus } from './click.entity';

const SETTING_KEY = 'click_secret';

/**
 * The secret that signs click ids when CLICK_SECRET is not configured: generated once and kept
 * in app_settings. Every process inserts its own candidate and reads back the winner, so all
 * processes (and restarts) sign with the same secret.
 */
export async function loadOrCreateClickSecret(dataSource: DataSource): Promise<string> {
  await dataSource.query(`INSERT INTO app_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [SETTING_KEY, randomBytes(32).toString('base64url')]);
  const [row] = await dataSource.query(`SELECT value FROM app_settings WHERE key = $1`, [SETTING_KEY]);
  return row.value as string;
}

/** Issues and verifies signed click ids (see click-id.ts for the format). */
@Injectable()
export class ClickIdService implements OnModuleInit {
  private readonly logger = new Logger(ClickIdService.name);
  private codec: ClickIdCodec | null = null;

  constructor(
    private readonly config: ConfigService<Config, true>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async onModuleInit(): Promise<void> {
    const { clickSecret, clickKeyId, clickSecretPrevious, clickPreviousKeyId } = this.config.get('app', { infer: true });
    // A rotated-out secret keeps verifying the ids it signed (docs/operations.md, "Rotating the click secret").
    const previous = clickSecretPrevious ? [{ keyId: clickPreviousKeyId, secret: clickSecretPrevious }] : [];
    if (clickSecret) {
      this.codec = new ClickIdCodec(clickSecret, clickKeyId, previous);
      return;
    }
    this.codec = new ClickIdCodec(await loadOrCreateClickSecret(this.dataSource), clickKeyId, previous);
    this.logger.log('CLICK_SECRET is not set: signing click ids with the secret stored in app_settings');
  }

  /** `link`: the link id, or its linkIdBytes(). */
  issue(link: string | Buffer, clickedAt: Date, status: ClickStatus = 'ok'): string {
    return this.ready().issue(link, clickedAt, status);
  }

  verify(clickId: string): VerifiedClickId | null {
    return this.ready().verify(clickId);
  }

  private ready(): ClickIdCodec {
    if (!this.codec) throw new Error('ClickIdService used before the application initialised');
    return this.codec;
  }
}
